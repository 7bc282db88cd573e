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
 * Event observers of the Circolo companion plugin.
 *
 * Every observer runs once the transaction that triggered its event has committed
 * (internal = false), records what a deletion took away, and queues one ad-hoc task that tells
 * Circolo the course changed.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$observers = [
    [
        'eventname' => '\mod_forum\event\discussion_created',
        'callback' => '\local_circolo\observer::forum_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\mod_forum\event\discussion_updated',
        'callback' => '\local_circolo\observer::forum_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\mod_forum\event\discussion_moved',
        'callback' => '\local_circolo\observer::forum_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\mod_forum\event\post_created',
        'callback' => '\local_circolo\observer::forum_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\mod_forum\event\post_updated',
        'callback' => '\local_circolo\observer::forum_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\mod_forum\event\post_deleted',
        'callback' => '\local_circolo\observer::post_deleted',
        'internal' => false,
    ],
    [
        'eventname' => '\mod_forum\event\discussion_deleted',
        'callback' => '\local_circolo\observer::discussion_deleted',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\course_module_updated',
        'callback' => '\local_circolo\observer::course_module_updated',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\user_enrolment_created',
        'callback' => '\local_circolo\observer::roster_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\user_enrolment_updated',
        'callback' => '\local_circolo\observer::roster_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\role_assigned',
        'callback' => '\local_circolo\observer::roster_changed',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\user_enrolment_deleted',
        'callback' => '\local_circolo\observer::user_enrolment_deleted',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\role_unassigned',
        'callback' => '\local_circolo\observer::role_unassigned',
        'internal' => false,
    ],
    [
        'eventname' => '\core\event\user_deleted',
        'callback' => '\local_circolo\observer::user_deleted',
        'internal' => false,
    ],
];
