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

use context_course;
use external_api;
use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;
use local_circolo\local\course_changes;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/externallib.php');

/**
 * External function local_circolo_get_course_changes: one call per sync.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_course_changes extends external_api {

    /**
     * Describe the parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'The course id'),
            'since' => new external_value(PARAM_INT, 'Return changes after this Unix time; 0 for everything', VALUE_DEFAULT, 0),
            'until' => new external_value(PARAM_INT, 'The until of the first page when asking for a later one; 0 on the first',
                VALUE_DEFAULT, 0),
            'cursor' => new external_value(PARAM_ALPHANUMEXT, 'The previous page\'s nextcursor; empty for the first page',
                VALUE_DEFAULT, ''),
            'limit' => new external_value(PARAM_INT, 'The most items on one page (at most ' . course_changes::MAX_LIMIT . ')',
                VALUE_DEFAULT, course_changes::DEFAULT_LIMIT),
        ]);
    }

    /**
     * Return one page of what changed in a course since a point in time.
     *
     * @param int $courseid The course id.
     * @param int $since Changes after this Unix time (0 for everything).
     * @param int $until The first page's until, for later pages.
     * @param string $cursor The previous page's nextcursor.
     * @param int $limit The most items on this page.
     * @return array
     */
    public static function execute(int $courseid, int $since = 0, int $until = 0, string $cursor = '',
            int $limit = course_changes::DEFAULT_LIMIT): array {
        $params = self::validate_parameters(self::execute_parameters(), [
            'courseid' => $courseid, 'since' => $since, 'until' => $until, 'cursor' => $cursor, 'limit' => $limit,
        ]);
        $course = get_course($params['courseid']);
        $context = context_course::instance($course->id);
        self::validate_context($context);
        require_capability('local/circolo:readchanges', $context);

        $changes = new course_changes($course, $params['since'], $params['until']);
        return $changes->page($params['cursor'], $params['limit']);
    }

    /**
     * Describe the return value.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'courseid' => new external_value(PARAM_INT, 'The course id'),
            'since' => new external_value(PARAM_INT, 'The since asked for'),
            'until' => new external_value(PARAM_INT, 'The window\'s end: pass it back for later pages, and as the next since'),
            'deletionsknownsince' => new external_value(PARAM_INT,
                'Deletions before this time are no longer recorded: a since before it needs a full read (since 0)'),
            'nextcursor' => new external_value(PARAM_ALPHANUMEXT, 'Pass it back for the next page; empty on the last'),
            'course' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Course id'),
                'fullname' => new external_value(PARAM_TEXT, 'Full name'),
                'shortname' => new external_value(PARAM_TEXT, 'Short name'),
                'startdate' => new external_value(PARAM_INT, 'Start date'),
                'enddate' => new external_value(PARAM_INT, 'End date (0: none)'),
                'visible' => new external_value(PARAM_BOOL, 'Whether the course is visible'),
            ]), 'The course, on the first page only'),
            'forums' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Forum id'),
                'course' => new external_value(PARAM_INT, 'Course id'),
                'cmid' => new external_value(PARAM_INT, 'Course module id'),
                'type' => new external_value(PARAM_ALPHA, 'Forum type'),
                'name' => new external_value(PARAM_TEXT, 'Forum name'),
                'visible' => new external_value(PARAM_BOOL, 'Whether the activity (and its section) is shown'),
                'uservisible' => new external_value(PARAM_BOOL, 'Whether the service user can see it, as core returns it'),
                'visibleoncoursepage' => new external_value(PARAM_BOOL, 'False for a stealth activity'),
                'hasrestrictions' => new external_value(PARAM_BOOL, 'Whether access restrictions apply'),
                'groupmode' => new external_value(PARAM_INT, 'Effective group mode'),
            ]), 'Every forum of the course, on the first page only'),
            'discussions' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'First post id, as in mod_forum_get_forum_discussions'),
                'discussion' => new external_value(PARAM_INT, 'Discussion id'),
                'forumid' => new external_value(PARAM_INT, 'Forum id'),
                'name' => new external_value(PARAM_RAW, 'Discussion name'),
                'groupid' => new external_value(PARAM_INT, 'Group id (-1: all participants)'),
                'userid' => new external_value(PARAM_INT, 'Who started it'),
                'userfullname' => new external_value(PARAM_RAW, 'Their full name'),
                'created' => new external_value(PARAM_INT, 'When the first post was written'),
                'timemodified' => new external_value(PARAM_INT, 'Time of the last post'),
                'usermodified' => new external_value(PARAM_INT, 'Author of the last post'),
                'timestart' => new external_value(PARAM_INT, 'Display start (0: none)'),
                'timeend' => new external_value(PARAM_INT, 'Display end (0: none)'),
                'numreplies' => new external_value(PARAM_INT, 'Number of replies'),
                'pinned' => new external_value(PARAM_BOOL, 'Pinned'),
                'locked' => new external_value(PARAM_BOOL, 'Locked now'),
            ]), 'Discussions started, renamed or replied to since since'),
            'posts' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Post id'),
                'discussionid' => new external_value(PARAM_INT, 'Discussion id'),
                'forumid' => new external_value(PARAM_INT, 'Forum id'),
                'parentid' => new external_value(PARAM_INT, 'The post it replies to (0: first post)'),
                'subject' => new external_value(PARAM_RAW, 'Subject'),
                'message' => new external_value(PARAM_RAW, 'Text as HTML (not sanitised)'),
                'messageformat' => new external_value(PARAM_INT, 'Always 1 (HTML)'),
                'timecreated' => new external_value(PARAM_INT, 'Written at'),
                'timemodified' => new external_value(PARAM_INT, 'Last edited at'),
                'isdeleted' => new external_value(PARAM_BOOL, 'Deleted, kept because it has replies'),
                'isprivatereply' => new external_value(PARAM_BOOL, 'A private reply'),
                'privatereplyto' => new external_value(PARAM_INT, 'Who a private reply is for (0: public)'),
                'author' => new external_single_structure([
                    'id' => new external_value(PARAM_INT, 'Author id'),
                    'fullname' => new external_value(PARAM_RAW, 'Author full name (empty when deleted)'),
                    'isdeleted' => new external_value(PARAM_BOOL, 'Whether the author was deleted'),
                ]),
            ]), 'Posts written or edited since since'),
            'deleted' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Tombstone id'),
                'itemtype' => new external_value(PARAM_ALPHA, 'post, discussion, enrolment, role or user'),
                'itemid' => new external_value(PARAM_INT, 'Id of what was deleted'),
                'discussionid' => new external_value(PARAM_INT, 'Its discussion (posts, discussions)'),
                'forumid' => new external_value(PARAM_INT, 'Its forum (posts, discussions)'),
                'userid' => new external_value(PARAM_INT, 'The author, the unenrolled person, the deleted user'),
                'timedeleted' => new external_value(PARAM_INT, 'When'),
            ]), 'What was deleted since since'),
            'users' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'User id'),
                'fullname' => new external_value(PARAM_RAW, 'Full name (empty when deleted)'),
                'email' => new external_value(PARAM_RAW, 'E-mail address'),
                'lang' => new external_value(PARAM_ALPHANUMEXT, 'Preferred language'),
                'timezone' => new external_value(PARAM_RAW, 'Time zone (99: the site\'s)'),
                'suspended' => new external_value(PARAM_BOOL, 'Suspended account'),
                'deleted' => new external_value(PARAM_BOOL, 'Deleted account'),
                'enrolled' => new external_value(PARAM_BOOL, 'Has an active enrolment in the course now'),
                'lastcourseaccess' => new external_value(PARAM_INT, 'Last access to the course (0: never)'),
                'roles' => new external_multiple_structure(new external_single_structure([
                    'roleid' => new external_value(PARAM_INT, 'Role id'),
                    'shortname' => new external_value(PARAM_ALPHANUMEXT, 'Role shortname'),
                ])),
                'groups' => new external_multiple_structure(new external_single_structure([
                    'id' => new external_value(PARAM_INT, 'Group id'),
                    'name' => new external_value(PARAM_TEXT, 'Group name'),
                ])),
            ]), 'Everyone enrolled on a first read; later, people whose enrolment, roles or profile changed'),
        ]);
    }
}
