<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_circolo\local;

use context_course;
use core_user;
use stdClass;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/message/lib.php');

/**
 * Delivering Circolo's prompts as notifications, at most once per Circolo reference.
 *
 * The delivery row and the notification are written in one transaction, and the row's unique
 * reference turns a repeated (or concurrent) delivery into a read of the first one.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class prompts {

    /** The recipient got the notification through at least one output. */
    const DELIVERED = 'delivered';

    /** Moodle stored it, but the recipient's preferences turn every output off (marked read). */
    const SILENCED = 'silenced';

    /** Nothing was delivered; the reason says why. */
    const REFUSED = 'refused';

    /**
     * Deliver one prompt, or return what an earlier delivery with its reference did.
     *
     * @param array $prompt One prompt as local_circolo_deliver_prompts receives it.
     * @param stdClass $sender The user the notification comes from (the service user).
     * @return array One result as local_circolo_deliver_prompts returns it.
     */
    public static function deliver(array $prompt, stdClass $sender): array {
        global $DB;

        if ($prompt['reference'] === '' || strlen($prompt['reference']) > 100) {
            return self::result(substr($prompt['reference'], 0, 100), self::REFUSED, 'invalidreference');
        }
        $existing = $DB->get_record('local_circolo_deliveries', ['reference' => $prompt['reference']]);
        if ($existing) {
            return self::repeated($existing, $prompt);
        }
        $refusal = self::refusal($prompt);
        if ($refusal !== null) {
            return self::result($prompt['reference'], self::REFUSED, $refusal);
        }

        $course = get_course($prompt['courseid']);
        $recipient = core_user::get_user($prompt['userid'], '*', MUST_EXIST);
        $message = self::message($prompt, $course, $recipient, $sender);

        $transaction = $DB->start_delegated_transaction();
        try {
            $delivery = (object) [
                'reference' => $prompt['reference'],
                'userid' => $recipient->id,
                'courseid' => $course->id,
                'notificationid' => 0,
                'status' => self::DELIVERED,
                'timecreated' => time(),
            ];
            $delivery->id = $DB->insert_record('local_circolo_deliveries', $delivery);
            $notificationid = message_send($message);
            if (!$notificationid) {
                throw new \moodle_exception('sendfailed', 'local_circolo');
            }
            $delivery->notificationid = $notificationid;
            // With every output off, Moodle keeps the notification but marks it read at once.
            $timeread = $DB->get_field('notifications', 'timeread', ['id' => $notificationid]);
            $delivery->status = $timeread ? self::SILENCED : self::DELIVERED;
            $DB->update_record('local_circolo_deliveries', $delivery);
            $transaction->allow_commit();
        } catch (\Throwable $e) {
            self::roll_back($transaction, $e);
            // Another call with the same reference may have won the race: report its delivery.
            $existing = $DB->get_record('local_circolo_deliveries', ['reference' => $prompt['reference']]);
            if ($existing) {
                return self::repeated($existing, $prompt);
            }
            return self::result($prompt['reference'], self::REFUSED, 'sendfailed');
        }
        return self::result($prompt['reference'], $delivery->status, '', $delivery);
    }

    /**
     * Say why a prompt cannot be delivered, or null when it can.
     *
     * @param array $prompt The prompt.
     * @return string|null A reason code (see README.md, "Prompts").
     */
    public static function refusal(array $prompt): ?string {
        global $DB;

        $course = $DB->get_record('course', ['id' => $prompt['courseid']]);
        if (!$course || $course->id == SITEID) {
            return 'coursenotfound';
        }
        $context = context_course::instance($course->id);
        if (!has_capability('local/circolo:deliverprompts', $context)) {
            return 'nopermission';
        }
        $recipient = $DB->get_record('user', ['id' => $prompt['userid']]);
        if (!$recipient) {
            return 'usernotfound';
        }
        if ($recipient->deleted) {
            return 'userdeleted';
        }
        if ($recipient->suspended) {
            return 'usersuspended';
        }
        if (!is_enrolled($context, $recipient, '', true)) {
            return 'notenrolled';
        }
        if (!empty(get_message_output_default_preferences()->local_circolo_prompt_disable)) {
            return 'providerdisabled';
        }
        return null;
    }

    /**
     * Build the notification, in the recipient's language where the plugin adds words.
     *
     * @param array $prompt The prompt (its text is Circolo's, already in the recipient's language).
     * @param stdClass $course The course.
     * @param stdClass $recipient The recipient.
     * @param stdClass $sender The sender.
     * @return \core\message\message
     */
    private static function message(array $prompt, stdClass $course, stdClass $recipient, stdClass $sender): \core\message\message {
        $context = context_course::instance($course->id);
        $strings = get_string_manager();
        $lang = $recipient->lang ?: null;
        $coursename = format_string($course->fullname, true, ['context' => $context]);
        $subject = $prompt['subject'] !== '' ? $prompt['subject']
            : $strings->get_string('promptsubject', 'local_circolo', $coursename, $lang);
        $html = format_text($prompt['text'], $prompt['textformat'], ['context' => $context, 'filter' => false]);
        $plain = html_to_text($html, 0, false);

        $message = new \core\message\message();
        $message->component = 'local_circolo';
        $message->name = 'prompt';
        $message->courseid = $course->id;
        $message->userfrom = $sender;
        $message->userto = $recipient;
        $message->notification = 1;
        $message->subject = $subject;
        $message->fullmessage = $plain;
        $message->fullmessageformat = FORMAT_PLAIN;
        $message->fullmessagehtml = $html;
        $message->smallmessage = shorten_text($plain, 200);
        if ($prompt['contexturl'] !== '') {
            $message->contexturl = $prompt['contexturl'];
            $message->contexturlname = $prompt['contexturlname'] !== '' ? $prompt['contexturlname']
                : $strings->get_string('promptlink', 'local_circolo', null, $lang);
        }
        $message->customdata = ['reference' => $prompt['reference']];
        return $message;
    }

    /**
     * The result of a delivery that was already made with this reference.
     *
     * @param stdClass $delivery Its row.
     * @param array $prompt The prompt asked for again.
     * @return array
     */
    private static function repeated(stdClass $delivery, array $prompt): array {
        if ((int) $delivery->userid !== (int) $prompt['userid']) {
            // A reference names one prompt to one person; reusing it for another is Circolo's bug.
            return self::result($prompt['reference'], self::REFUSED, 'referenceconflict');
        }
        $result = self::result($prompt['reference'], $delivery->status, '', $delivery);
        $result['repeated'] = true;
        return $result;
    }

    /**
     * One result row.
     *
     * @param string $reference Circolo's reference.
     * @param string $status delivered, silenced or refused.
     * @param string $reason Why not delivered ('' otherwise).
     * @param stdClass|null $delivery The delivery row, if any.
     * @return array
     */
    private static function result(string $reference, string $status, string $reason, ?stdClass $delivery = null): array {
        return [
            'reference' => $reference,
            'status' => $status,
            'repeated' => false,
            'reason' => $reason,
            'deliveryid' => $delivery ? (int) $delivery->id : 0,
            'notificationid' => $delivery ? (int) $delivery->notificationid : 0,
            'timecreated' => $delivery ? (int) $delivery->timecreated : 0,
        ];
    }

    /**
     * Roll a delegated transaction back without rethrowing the exception that ended it.
     *
     * @param \moodle_transaction $transaction The transaction.
     * @param \Throwable $e What ended it.
     */
    private static function roll_back(\moodle_transaction $transaction, \Throwable $e): void {
        try {
            $transaction->rollback($e);
        } catch (\Throwable $rethrown) {
            // Moodle's rollback() always rethrows; the caller reports the failure instead.
            debugging('local_circolo: delivery rolled back: ' . $e->getMessage(), DEBUG_DEVELOPER);
        }
    }
}
