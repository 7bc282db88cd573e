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

namespace local_circolo\task;

use local_circolo\local\circolo_client;
use local_circolo\local\connection;

/**
 * Ad-hoc task: tell Circolo that a course changed (or a user was deleted), with a signed call.
 *
 * A failed call throws, and Moodle's task system runs the task again later with a growing
 * delay; the person whose change queued it never waits for Circolo.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class notify_circolo extends \core\task\adhoc_task {

    /**
     * Return the task's name.
     *
     * @return string
     */
    public function get_name(): string {
        return get_string('tasknotifycircolo', 'local_circolo');
    }

    /**
     * Send the event.
     *
     * @throws \moodle_exception when Circolo could not be reached or did not accept it, so that
     *     the task is retried
     */
    public function execute() {
        global $CFG;

        if (!connection::is_connected()) {
            mtrace('local_circolo: not connected to Circolo; event dropped.');
            return;
        }
        $data = (array) $this->get_custom_data();
        $area = (string) ($data['area'] ?? '');
        $event = [
            'id' => \core\uuid::generate(),
            'type' => $area === 'user' ? 'user_deleted' : 'course_changed',
            'site' => $CFG->wwwroot,
            'courseid' => (int) ($data['courseid'] ?? 0),
            'area' => $area,
            'userid' => (int) ($data['userid'] ?? 0),
            'time' => time(),
        ];

        try {
            [$status, $answer] = circolo_client::post_event(connection::get('eventsurl'), connection::get('keyid'),
                connection::get('secret'), $event);
        } catch (\moodle_exception $e) {
            self::remember("unreachable: {$e->debuginfo}");
            throw $e;
        }
        if ($status === 200 || $status === 202 || $status === 409) {
            // 409: Circolo already has this very call (a replay it refused): nothing to resend.
            self::remember("HTTP {$status}");
            mtrace("local_circolo: {$event['type']} {$event['area']} course {$event['courseid']}: HTTP {$status}");
            return;
        }
        if ($status === 410) {
            // Circolo no longer knows this connection: retrying would never succeed.
            self::remember('HTTP 410: Circolo no longer knows this site; press Connect again');
            mtrace('local_circolo: Circolo no longer knows this connection; event dropped.');
            return;
        }
        $code = clean_param($answer['error']['code'] ?? '', PARAM_ALPHANUMEXT);
        self::remember("HTTP {$status} {$code}");
        throw new \moodle_exception('eventrefused', 'local_circolo', '', null, "HTTP {$status} {$code}");
    }

    /**
     * Keep the outcome of the last event for the settings page.
     *
     * @param string $outcome What happened.
     */
    private static function remember(string $outcome): void {
        connection::set('lasteventat', time());
        connection::set('lasteventstatus', $outcome);
    }
}
