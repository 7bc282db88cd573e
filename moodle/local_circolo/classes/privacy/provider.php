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

namespace local_circolo\privacy;

use context;
use context_course;
use context_system;
use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\contextlist;
use core_privacy\local\request\transform;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;

/**
 * Privacy provider: what the plugin sends to Circolo, and the little it keeps itself.
 *
 * Deliveries and course tombstones live in their course's context; the tombstone of a deleted
 * user, which is site-wide, in the system context.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
        \core_privacy\local\metadata\provider,
        \core_privacy\local\request\core_userlist_provider,
        \core_privacy\local\request\plugin\provider {

    /**
     * Describe the data the plugin stores and sends.
     *
     * @param collection $collection The collection to add to.
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        $collection->add_database_table('local_circolo_deliveries', [
            'reference' => 'privacy:metadata:deliveries:reference',
            'userid' => 'privacy:metadata:deliveries:userid',
            'courseid' => 'privacy:metadata:deliveries:courseid',
            'notificationid' => 'privacy:metadata:deliveries:notificationid',
            'status' => 'privacy:metadata:deliveries:status',
            'timecreated' => 'privacy:metadata:deliveries:timecreated',
        ], 'privacy:metadata:deliveries');
        $collection->add_database_table('local_circolo_tombstones', [
            'courseid' => 'privacy:metadata:tombstones:courseid',
            'itemtype' => 'privacy:metadata:tombstones:itemtype',
            'itemid' => 'privacy:metadata:tombstones:itemid',
            'userid' => 'privacy:metadata:tombstones:userid',
            'timecreated' => 'privacy:metadata:tombstones:timecreated',
        ], 'privacy:metadata:tombstones');
        $collection->link_external_location('circolo', [
            'userid' => 'privacy:metadata:circolo:userid',
            'fullname' => 'privacy:metadata:circolo:fullname',
            'email' => 'privacy:metadata:circolo:email',
            'lang' => 'privacy:metadata:circolo:lang',
            'timezone' => 'privacy:metadata:circolo:timezone',
            'enrolment' => 'privacy:metadata:circolo:enrolment',
            'posts' => 'privacy:metadata:circolo:posts',
            'lastcourseaccess' => 'privacy:metadata:circolo:lastcourseaccess',
        ], 'privacy:metadata:circolo');
        $collection->add_subsystem_link('core_message', [], 'privacy:metadata:core_message');
        return $collection;
    }

    /**
     * Return the contexts holding the user's deliveries or tombstones.
     *
     * @param int $userid The user.
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        global $DB;
        $contextlist = new contextlist();
        $sql = "SELECT ctx.id
                  FROM {context} ctx
                  JOIN {local_circolo_deliveries} d ON d.courseid = ctx.instanceid AND ctx.contextlevel = :level1
                 WHERE d.userid = :user1";
        $contextlist->add_from_sql($sql, ['level1' => CONTEXT_COURSE, 'user1' => $userid]);
        $sql = "SELECT ctx.id
                  FROM {context} ctx
                  JOIN {local_circolo_tombstones} t ON t.courseid = ctx.instanceid AND ctx.contextlevel = :level2
                 WHERE t.userid = :user2";
        $contextlist->add_from_sql($sql, ['level2' => CONTEXT_COURSE, 'user2' => $userid]);
        if ($DB->record_exists('local_circolo_tombstones', ['courseid' => 0, 'userid' => $userid])) {
            $contextlist->add_system_context();
        }
        return $contextlist;
    }

    /**
     * Add the users with deliveries or tombstones in a context.
     *
     * @param userlist $userlist The list to add to.
     */
    public static function get_users_in_context(userlist $userlist) {
        $context = $userlist->get_context();
        $courseid = self::course_of($context);
        if ($courseid === null) {
            return;
        }
        if ($courseid > 0) {
            $userlist->add_from_sql('userid', 'SELECT userid FROM {local_circolo_deliveries} WHERE courseid = :courseid',
                ['courseid' => $courseid]);
        }
        $userlist->add_from_sql('userid', 'SELECT userid FROM {local_circolo_tombstones} WHERE courseid = :courseid',
            ['courseid' => $courseid]);
    }

    /**
     * Export the user's deliveries and tombstones, per context.
     *
     * @param approved_contextlist $contextlist The approved contexts.
     */
    public static function export_user_data(approved_contextlist $contextlist) {
        global $DB;
        $userid = $contextlist->get_user()->id;
        $subcontext = [get_string('pluginname', 'local_circolo')];
        foreach ($contextlist->get_contexts() as $context) {
            $courseid = self::course_of($context);
            if ($courseid === null) {
                continue;
            }
            $deliveries = [];
            foreach ($DB->get_records('local_circolo_deliveries', ['userid' => $userid, 'courseid' => $courseid], 'id') as $d) {
                $deliveries[] = [
                    'reference' => $d->reference,
                    'status' => $d->status,
                    'notificationid' => $d->notificationid,
                    'timecreated' => transform::datetime($d->timecreated),
                ];
            }
            $tombstones = [];
            foreach ($DB->get_records('local_circolo_tombstones', ['userid' => $userid, 'courseid' => $courseid], 'id') as $t) {
                $tombstones[] = [
                    'itemtype' => $t->itemtype,
                    'itemid' => $t->itemid,
                    'timedeleted' => transform::datetime($t->timecreated),
                ];
            }
            if ($deliveries || $tombstones) {
                writer::with_context($context)->export_data($subcontext,
                    (object) ['deliveries' => $deliveries, 'deleted' => $tombstones]);
            }
        }
    }

    /**
     * Delete everything the plugin keeps in a context.
     *
     * @param context $context The context.
     */
    public static function delete_data_for_all_users_in_context(context $context) {
        global $DB;
        $courseid = self::course_of($context);
        if ($courseid === null) {
            return;
        }
        if ($courseid > 0) {
            $DB->delete_records('local_circolo_deliveries', ['courseid' => $courseid]);
        }
        $DB->delete_records('local_circolo_tombstones', ['courseid' => $courseid]);
    }

    /**
     * Delete the user's deliveries and tombstones in the approved contexts.
     *
     * @param approved_contextlist $contextlist The approved contexts.
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
        global $DB;
        $userid = $contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            $courseid = self::course_of($context);
            if ($courseid === null) {
                continue;
            }
            $DB->delete_records('local_circolo_deliveries', ['userid' => $userid, 'courseid' => $courseid]);
            $DB->delete_records('local_circolo_tombstones', ['userid' => $userid, 'courseid' => $courseid]);
        }
    }

    /**
     * Delete the listed users' deliveries and tombstones in one context.
     *
     * @param approved_userlist $userlist The approved users and their context.
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
        global $DB;
        $courseid = self::course_of($userlist->get_context());
        if ($courseid === null || !$userlist->get_userids()) {
            return;
        }
        [$in, $params] = $DB->get_in_or_equal($userlist->get_userids(), SQL_PARAMS_NAMED);
        $params['courseid'] = $courseid;
        $DB->delete_records_select('local_circolo_deliveries', "courseid = :courseid AND userid $in", $params);
        $DB->delete_records_select('local_circolo_tombstones', "courseid = :courseid AND userid $in", $params);
    }

    /**
     * Return the course id a context stands for here: a course's id, 0 for the system, else null.
     *
     * @param context $context The context.
     * @return int|null
     */
    private static function course_of(context $context): ?int {
        if ($context instanceof context_course) {
            return (int) $context->instanceid;
        }
        if ($context instanceof context_system) {
            return 0;
        }
        return null;
    }
}
