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

namespace local_circolo;

use local_circolo\local\connection;
use local_circolo\task\notify_circolo;

/**
 * Event observers: record what deletions take away, and tell Circolo a course changed.
 *
 * Observers run in the request of whoever made the change, so they only insert rows: the call
 * to Circolo is an ad-hoc task that cron runs (and retries) on its own.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {

    /**
     * A discussion or post was created, updated or moved.
     *
     * @param \core\event\base $event The event.
     */
    public static function forum_changed(\core\event\base $event): void {
        if (self::watched((int) $event->courseid)) {
            self::notify((int) $event->courseid, 'forum');
        }
    }

    /**
     * A post was deleted: keep its tombstone.
     *
     * @param \mod_forum\event\post_deleted $event The event.
     */
    public static function post_deleted(\mod_forum\event\post_deleted $event): void {
        $courseid = (int) $event->courseid;
        if (!self::watched($courseid)) {
            return;
        }
        $post = self::snapshot($event, 'forum_posts');
        self::tombstone($courseid, 'post', (int) $event->objectid, (int) $event->other['discussionid'],
            (int) $event->other['forumid'], (int) ($post->userid ?? $event->relateduserid ?? $event->userid));
        self::notify($courseid, 'forum');
    }

    /**
     * A discussion was deleted (its posts each had their own post_deleted): keep its tombstone.
     *
     * @param \mod_forum\event\discussion_deleted $event The event.
     */
    public static function discussion_deleted(\mod_forum\event\discussion_deleted $event): void {
        $courseid = (int) $event->courseid;
        if (!self::watched($courseid)) {
            return;
        }
        $discussion = self::snapshot($event, 'forum_discussions');
        self::tombstone($courseid, 'discussion', (int) $event->objectid, (int) $event->objectid,
            (int) $event->other['forumid'], (int) ($discussion->userid ?? 0));
        self::notify($courseid, 'forum');
    }

    /**
     * A course module was updated: a forum may have been hidden, shown or restricted.
     *
     * @param \core\event\course_module_updated $event The event.
     */
    public static function course_module_updated(\core\event\course_module_updated $event): void {
        if (($event->other['modulename'] ?? '') === 'forum' && self::watched((int) $event->courseid)) {
            self::notify((int) $event->courseid, 'forum');
        }
    }

    /**
     * Someone was enrolled, their enrolment changed, or they were given a role in a course.
     *
     * @param \core\event\base $event The event.
     */
    public static function roster_changed(\core\event\base $event): void {
        if (self::in_course($event) && self::watched((int) $event->courseid)) {
            self::notify((int) $event->courseid, 'roster');
        }
    }

    /**
     * Someone was unenrolled: keep the tombstone of their enrolment.
     *
     * @param \core\event\user_enrolment_deleted $event The event.
     */
    public static function user_enrolment_deleted(\core\event\user_enrolment_deleted $event): void {
        $courseid = (int) $event->courseid;
        if (!self::watched($courseid)) {
            return;
        }
        self::tombstone($courseid, 'enrolment', (int) $event->objectid, 0, 0, (int) $event->relateduserid);
        self::notify($courseid, 'roster');
    }

    /**
     * A role was taken away in a course: keep its tombstone.
     *
     * @param \core\event\role_unassigned $event The event.
     */
    public static function role_unassigned(\core\event\role_unassigned $event): void {
        $courseid = (int) $event->courseid;
        if (!self::in_course($event) || !self::watched($courseid)) {
            return;
        }
        self::tombstone($courseid, 'role', (int) $event->objectid, 0, 0, (int) $event->relateduserid);
        self::notify($courseid, 'roster');
    }

    /**
     * A user was deleted: Circolo forgets them on every course of the site.
     *
     * @param \core\event\user_deleted $event The event.
     */
    public static function user_deleted(\core\event\user_deleted $event): void {
        global $DB;
        $userid = (int) $event->objectid;
        // What the plugin kept about them goes with them, connected or not.
        $DB->delete_records('local_circolo_deliveries', ['userid' => $userid]);
        if (!connection::is_connected()) {
            return;
        }
        self::tombstone(0, 'user', $userid, 0, 0, $userid);
        self::notify(0, 'user', $userid);
    }

    /**
     * Tell whether events of this course concern Circolo (connected, and used in the course).
     *
     * @param int $courseid The course.
     * @return bool
     */
    private static function watched(int $courseid): bool {
        return $courseid > 0 && $courseid != SITEID && connection::is_connected()
            && connection::course_uses_circolo($courseid);
    }

    /**
     * Tell whether a role event happened in a course's own context.
     *
     * @param \core\event\base $event The event.
     * @return bool
     */
    private static function in_course(\core\event\base $event): bool {
        return $event->contextlevel == CONTEXT_COURSE;
    }

    /**
     * Return a record snapshot the event carries, or null.
     *
     * @param \core\event\base $event The event.
     * @param string $table The snapshot's table.
     * @return \stdClass|null
     */
    private static function snapshot(\core\event\base $event, string $table): ?\stdClass {
        try {
            return $event->get_record_snapshot($table, $event->objectid) ?: null;
        } catch (\coding_exception $e) {
            return null;
        }
    }

    /**
     * Record that something was deleted.
     *
     * @param int $courseid The course (0 for a user).
     * @param string $itemtype post, discussion, enrolment, role or user.
     * @param int $itemid Its id.
     * @param int $discussionid Its discussion.
     * @param int $forumid Its forum.
     * @param int $userid The person concerned.
     */
    private static function tombstone(int $courseid, string $itemtype, int $itemid, int $discussionid, int $forumid,
            int $userid): void {
        global $DB;
        $DB->insert_record('local_circolo_tombstones', (object) [
            'courseid' => $courseid,
            'itemtype' => $itemtype,
            'itemid' => $itemid,
            'discussionid' => $discussionid,
            'forumid' => $forumid,
            'userid' => $userid,
            'timecreated' => time(),
        ]);
    }

    /**
     * Queue the call that tells Circolo, unless the same call is already waiting to run.
     *
     * A burst of changes (a discussion deleted with its fifty posts, a cohort enrolled) thus
     * costs one call; a call already running does not swallow later changes.
     *
     * @param int $courseid The course (0 for a user deletion).
     * @param string $area forum, roster or user.
     * @param int $userid The deleted user, for area user.
     */
    private static function notify(int $courseid, string $area, int $userid = 0): void {
        global $DB;
        $data = ['courseid' => $courseid, 'area' => $area, 'userid' => $userid];
        $customdata = json_encode($data);
        $waiting = $DB->record_exists_select('task_adhoc',
            'classname = :classname AND timestarted IS NULL AND ' . $DB->sql_compare_text('customdata', 255) . ' = :customdata',
            ['classname' => '\\' . notify_circolo::class, 'customdata' => $customdata]);
        if ($waiting) {
            return;
        }
        $task = new notify_circolo();
        $task->set_component('local_circolo');
        $task->set_custom_data($data);
        \core\task\manager::queue_adhoc_task($task);
    }
}
