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

namespace local_circolo\external;

use context_system;
use external_api;
use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;
use local_circolo\local\prompts;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/externallib.php');

/**
 * External function local_circolo_deliver_prompts: prompts as notifications, once per reference.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class deliver_prompts extends external_api {

    /** The most prompts one call may carry. */
    const MAX_PROMPTS = 100;

    /**
     * Describe the parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'prompts' => new external_multiple_structure(new external_single_structure([
                'reference' => new external_value(PARAM_ALPHANUMEXT, 'Circolo\'s reference of the prompt (at most 100 characters)'),
                'userid' => new external_value(PARAM_INT, 'The recipient'),
                'courseid' => new external_value(PARAM_INT, 'The course the prompt is about'),
                'subject' => new external_value(PARAM_TEXT, 'Subject (empty: the plugin\'s, in the recipient\'s language)',
                    VALUE_DEFAULT, ''),
                'text' => new external_value(PARAM_RAW, 'The text, in the recipient\'s language'),
                'textformat' => new external_value(PARAM_INT, 'Its format (1: HTML, 2: plain text)', VALUE_DEFAULT, FORMAT_HTML),
                'contexturl' => new external_value(PARAM_URL, 'A link the notification opens (e.g. the discussion)',
                    VALUE_DEFAULT, ''),
                'contexturlname' => new external_value(PARAM_TEXT, 'The link\'s name', VALUE_DEFAULT, ''),
            ]), 'Prompts to deliver (at most ' . self::MAX_PROMPTS . ')'),
        ]);
    }

    /**
     * Deliver each prompt once; return what happened to each, in the order given.
     *
     * @param array $prompts The prompts.
     * @return array One result per prompt.
     */
    public static function execute(array $prompts): array {
        global $USER;

        $params = self::validate_parameters(self::execute_parameters(), ['prompts' => $prompts]);
        $context = context_system::instance();
        self::validate_context($context);
        if (count($params['prompts']) > self::MAX_PROMPTS) {
            throw new \invalid_parameter_exception('prompts: at most ' . self::MAX_PROMPTS . ' per call');
        }

        $results = [];
        foreach ($params['prompts'] as $prompt) {
            // The capability is checked per prompt, in the course the prompt is about.
            $results[] = prompts::deliver($prompt, $USER);
        }
        return $results;
    }

    /**
     * Describe the return value.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'reference' => new external_value(PARAM_ALPHANUMEXT, 'The prompt\'s reference'),
            'status' => new external_value(PARAM_ALPHA, 'delivered, silenced (stored, but every output is off in the '
                . 'recipient\'s preferences) or refused'),
            'repeated' => new external_value(PARAM_BOOL, 'True when an earlier call already delivered it: nothing was sent again'),
            'reason' => new external_value(PARAM_ALPHA, 'Why it was refused: coursenotfound, nopermission, usernotfound, '
                . 'userdeleted, usersuspended, notenrolled, providerdisabled, invalidreference, referenceconflict, sendfailed'),
            'deliveryid' => new external_value(PARAM_INT, 'The plugin\'s delivery id (0 when refused)'),
            'notificationid' => new external_value(PARAM_INT, 'The id in Moodle\'s notifications table (0 when refused)'),
            'timecreated' => new external_value(PARAM_INT, 'When it was delivered (0 when refused)'),
        ]));
    }
}
