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

/**
 * External functions and the external service of the Circolo companion plugin.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$functions = [
    'local_circolo_get_course_changes' => [
        'classname' => 'local_circolo\external\get_course_changes',
        'methodname' => 'execute',
        'description' => 'Return what changed in a course since a point in time: posts, deleted posts '
            . 'and discussions, enrolments and roles, forum visibility, people\'s language and time zone.',
        'type' => 'read',
        'capabilities' => 'local/circolo:readchanges',
    ],
    'local_circolo_deliver_prompts' => [
        'classname' => 'local_circolo\external\deliver_prompts',
        'methodname' => 'execute',
        'description' => 'Deliver Circolo\'s prompts as notifications, at most once per reference.',
        'type' => 'write',
        'capabilities' => 'local/circolo:deliverprompts',
    ],
];

$services = [
    'Circolo' => [
        'shortname' => 'local_circolo',
        'functions' => [
            // The plugin's own calls.
            'local_circolo_get_course_changes',
            'local_circolo_deliver_prompts',
            // Circolo checks the token with this one when IT presses Connect.
            'core_webservice_get_site_info',
            // Circolo's web-service sync path, which reads the course through core functions
            // until it switches to local_circolo_get_course_changes for connected sites.
            'core_course_get_courses_by_field',
            'core_enrol_get_enrolled_users',
            // Participants' language and time zone: the roster above never carries them.
            'core_user_get_users_by_field',
            'mod_forum_get_forums_by_courses',
            'mod_forum_get_forum_discussions',
            'mod_forum_get_discussion_posts',
            // Prompts posted as forum replies (a mentoring rule can answer in the discussion).
            'mod_forum_add_discussion_post',
        ],
        'enabled' => 1,
        'restrictedusers' => 1,
        'downloadfiles' => 1,
        'uploadfiles' => 0,
    ],
];
