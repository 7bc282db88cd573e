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
use context_module;
use stdClass;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/filelib.php');

/**
 * What changed in a course since a point in time, read in a few set-wise queries per page.
 *
 * A page holds at most $limit items taken in a fixed order of sections (discussions, posts,
 * deleted, users), each section read in ascending id after the cursor's id, so that paging is
 * stable while people keep writing: anything written during paging either lands on a later page
 * or is newer than `until` and comes with the next call.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class course_changes {

    /** The sections of a response, in the order pages walk through them. */
    const SECTIONS = ['discussions', 'posts', 'deleted', 'users'];

    /** Items per page when the caller does not say. */
    const DEFAULT_LIMIT = 2000;

    /** The most items a page may hold. */
    const MAX_LIMIT = 5000;

    /** Days tombstones are kept (see the purge_records task). */
    const TOMBSTONE_DAYS = 90;

    /** @var stdClass The course. */
    private $course;

    /** @var context_course Its context. */
    private $context;

    /** @var int Changes strictly after this Unix time are returned (0: everything). */
    private $since;

    /** @var int The time the window closes at; the caller's next `since`. */
    private $until;

    /** @var int The current time, for enrolment periods and locks. */
    private $now;

    /** @var context_module[] Module context of each forum of the course, by forum id. */
    private $forumcontexts = [];

    /**
     * Prepare to read one course's changes.
     *
     * @param stdClass $course The course record.
     * @param int $since Changes after this Unix time (0 for everything).
     * @param int $until The window's end from the first page (0 on the first page).
     */
    public function __construct(stdClass $course, int $since, int $until) {
        $this->course = $course;
        $this->context = context_course::instance($course->id);
        $this->now = time();
        $this->since = max(0, $since);
        // One second back: a write in the current second could still commit after this call
        // read it, and would then be missed by a next call starting strictly after `until`.
        $this->until = $until > 0 ? $until : $this->now - 1;
    }

    /**
     * Read one page of changes, starting after $cursor.
     *
     * @param string $cursor '' for the first page, else the previous page's nextcursor.
     * @param int $limit The most items (discussions + posts + deleted + users) on this page.
     * @return array The response of local_circolo_get_course_changes.
     */
    public function page(string $cursor, int $limit): array {
        $limit = min(self::MAX_LIMIT, max(1, $limit ?: self::DEFAULT_LIMIT));
        [$section, $after] = self::parse_cursor($cursor);
        $forums = $this->forums();

        $result = [
            'courseid' => (int) $this->course->id,
            'since' => $this->since,
            'until' => $this->until,
            'deletionsknownsince' => $this->deletions_known_since(),
            'nextcursor' => '',
            'course' => [],
            'forums' => [],
            'discussions' => [],
            'posts' => [],
            'deleted' => [],
            'users' => [],
        ];
        if ($cursor === '') {
            $result['course'] = [$this->course_summary()];
            $result['forums'] = array_values($forums);
        }

        $room = $limit;
        for ($i = array_search($section, self::SECTIONS); $i < count(self::SECTIONS); $i++) {
            $name = self::SECTIONS[$i];
            $items = $this->{'read_' . $name}($after, $room);
            $result[$name] = $items;
            $room -= count($items);
            if ($room <= 0) {
                // The page is full: the next one resumes after this section's last id (it may
                // find the section exhausted and move on).
                $last = end($items);
                $result['nextcursor'] = $name . '-' . $last['id'];
                break;
            }
            $after = 0;
        }
        return $result;
    }

    /**
     * Split a cursor "section-lastid" into its parts.
     *
     * @param string $cursor The cursor ('' for the first page).
     * @return array [string section, int last id]
     */
    public static function parse_cursor(string $cursor): array {
        if ($cursor === '') {
            return [self::SECTIONS[0], 0];
        }
        if (!preg_match('/^([a-z]+)-(\d+)$/', $cursor, $matches) || !in_array($matches[1], self::SECTIONS, true)) {
            throw new \invalid_parameter_exception('cursor: not one this function returned');
        }
        return [$matches[1], (int) $matches[2]];
    }

    /**
     * Return the oldest time from which deletions are known (tombstones are kept 90 days).
     *
     * A caller whose `since` is older must read everything again (since = 0).
     *
     * @return int
     */
    private function deletions_known_since(): int {
        $tracking = (int) get_config('local_circolo', 'trackingsince');
        return max($tracking, $this->now - self::TOMBSTONE_DAYS * DAYSECS);
    }

    /**
     * The course's dates and visibility, as core_course_get_courses_by_field returns them.
     *
     * @return array
     */
    private function course_summary(): array {
        return [
            'id' => (int) $this->course->id,
            'fullname' => format_string($this->course->fullname, true, ['context' => $this->context]),
            'shortname' => format_string($this->course->shortname, true, ['context' => $this->context]),
            'startdate' => (int) $this->course->startdate,
            'enddate' => (int) $this->course->enddate,
            'visible' => (bool) $this->course->visible,
        ];
    }

    /**
     * Every forum of the course with its visibility (they are few; always all of them).
     *
     * @return array Forums by forum id.
     */
    private function forums(): array {
        global $DB;
        $types = $DB->get_records_menu('forum', ['course' => $this->course->id], '', 'id, type');
        $forums = [];
        foreach (get_fast_modinfo($this->course)->get_instances_of('forum') as $forumid => $cm) {
            $this->forumcontexts[$forumid] = $cm->context;
            $forums[$forumid] = [
                'id' => (int) $forumid,
                'course' => (int) $this->course->id,
                'cmid' => (int) $cm->id,
                'type' => $types[$forumid] ?? 'general',
                'name' => format_string($cm->name, true, ['context' => $cm->context]),
                'visible' => (bool) $cm->visible,
                'uservisible' => (bool) $cm->uservisible,
                'visibleoncoursepage' => (bool) $cm->visibleoncoursepage,
                'hasrestrictions' => !empty($cm->availability),
                'groupmode' => (int) $cm->effectivegroupmode,
            ];
        }
        return $forums;
    }

    /**
     * Discussions started, renamed or replied to since `since` (core's discussion shape).
     *
     * @param int $after Last discussion id already returned.
     * @param int $limit The most to return.
     * @return array
     */
    private function read_discussions(int $after, int $limit): array {
        global $DB;
        $params = ['courseid' => $this->course->id, 'after' => $after];
        $changed = '';
        if ($this->since > 0) {
            $changed = "AND (d.timemodified > :since1 OR EXISTS (
                            SELECT 1 FROM {forum_posts} cp WHERE cp.discussion = d.id AND cp.modified > :since2))";
            $params += ['since1' => $this->since, 'since2' => $this->since];
        }
        $sql = "SELECT d.id, d.forum, d.name, d.firstpost, d.userid, d.groupid, d.timemodified, d.usermodified,
                       d.timestart, d.timeend, d.pinned, d.timelocked, fp.created
                  FROM {forum_discussions} d
             LEFT JOIN {forum_posts} fp ON fp.id = d.firstpost
                 WHERE d.course = :courseid AND d.id > :after $changed
              ORDER BY d.id";
        $records = $DB->get_records_sql($sql, $params, 0, $limit);
        if (!$records) {
            return [];
        }
        [$insql, $inparams] = $DB->get_in_or_equal(array_keys($records), SQL_PARAMS_NAMED);
        $counts = $DB->get_records_sql_menu("SELECT discussion, COUNT(1) FROM {forum_posts}
                                              WHERE discussion $insql GROUP BY discussion", $inparams);
        $names = $this->user_names(array_column($records, 'userid'));
        $discussions = [];
        foreach ($records as $d) {
            $discussions[] = [
                'id' => (int) $d->firstpost,
                'discussion' => (int) $d->id,
                'forumid' => (int) $d->forum,
                'name' => $d->name,
                'groupid' => (int) $d->groupid,
                'userid' => (int) $d->userid,
                'userfullname' => $names[$d->userid]->fullname ?? '',
                'created' => (int) $d->created,
                'timemodified' => (int) $d->timemodified,
                'usermodified' => (int) $d->usermodified,
                'timestart' => (int) $d->timestart,
                'timeend' => (int) $d->timeend,
                'numreplies' => max(0, (int) ($counts[$d->id] ?? 1) - 1),
                'pinned' => (bool) $d->pinned,
                'locked' => $d->timelocked > 0 && $d->timelocked <= $this->now,
            ];
        }
        return $discussions;
    }

    /**
     * Posts written or edited since `since` (core's post shape, with the forum id).
     *
     * @param int $after Last post id already returned.
     * @param int $limit The most to return.
     * @return array
     */
    private function read_posts(int $after, int $limit): array {
        global $DB;
        $params = ['courseid' => $this->course->id, 'after' => $after];
        $changed = '';
        if ($this->since > 0) {
            $changed = 'AND p.modified > :since';
            $params['since'] = $this->since;
        }
        $sql = "SELECT p.id, p.discussion, p.parent, p.userid, p.created, p.modified, p.subject, p.message,
                       p.messageformat, p.deleted, p.privatereplyto, d.forum
                  FROM {forum_posts} p
                  JOIN {forum_discussions} d ON d.id = p.discussion
                 WHERE d.course = :courseid AND p.id > :after $changed
              ORDER BY p.id";
        $records = $DB->get_records_sql($sql, $params, 0, $limit);
        $names = $this->user_names(array_column($records, 'userid'));
        $posts = [];
        foreach ($records as $p) {
            $author = $names[$p->userid] ?? null;
            $posts[] = [
                'id' => (int) $p->id,
                'discussionid' => (int) $p->discussion,
                'forumid' => (int) $p->forum,
                'parentid' => (int) $p->parent,
                'subject' => $p->subject,
                'message' => $this->post_html($p),
                'messageformat' => FORMAT_HTML,
                'timecreated' => (int) $p->created,
                'timemodified' => (int) $p->modified,
                'isdeleted' => (bool) $p->deleted,
                'isprivatereply' => !empty($p->privatereplyto),
                'privatereplyto' => (int) $p->privatereplyto,
                'author' => [
                    'id' => (int) $p->userid,
                    'fullname' => $author ? $author->fullname : '',
                    'isdeleted' => !$author || $author->deleted,
                ],
            ];
        }
        return $posts;
    }

    /**
     * A post's text as HTML, with its embedded files' addresses made absolute.
     *
     * HTML is returned as written (Circolo sanitises it); other formats are converted without
     * filters, which is cheap for the few posts that use them.
     *
     * @param stdClass $post The post record with its forum id.
     * @return string
     */
    private function post_html(stdClass $post): string {
        $context = $this->forumcontexts[$post->forum] ?? null;
        $message = $post->message;
        if ($context) {
            $message = file_rewrite_pluginfile_urls($message, 'pluginfile.php', $context->id, 'mod_forum', 'post', $post->id);
        }
        if ((int) $post->messageformat !== FORMAT_HTML) {
            $message = format_text($message, $post->messageformat,
                ['filter' => false, 'para' => false, 'context' => $context ?? $this->context]);
        }
        return $message;
    }

    /**
     * Tombstones of the course since `since`, and of users deleted anywhere on the site.
     *
     * @param int $after Last tombstone id already returned.
     * @param int $limit The most to return.
     * @return array
     */
    private function read_deleted(int $after, int $limit): array {
        global $DB;
        $sql = "SELECT id, itemtype, itemid, discussionid, forumid, userid, timecreated
                  FROM {local_circolo_tombstones}
                 WHERE (courseid = :courseid OR (courseid = 0 AND itemtype = :user))
                   AND id > :after AND timecreated > :since
              ORDER BY id";
        $records = $DB->get_records_sql($sql, ['courseid' => $this->course->id, 'user' => 'user', 'after' => $after,
            'since' => $this->since], 0, $limit);
        $deleted = [];
        foreach ($records as $t) {
            $deleted[] = [
                'id' => (int) $t->id,
                'itemtype' => $t->itemtype,
                'itemid' => (int) $t->itemid,
                'discussionid' => (int) $t->discussionid,
                'forumid' => (int) $t->forumid,
                'userid' => (int) $t->userid,
                'timedeleted' => (int) $t->timecreated,
            ];
        }
        return $deleted;
    }

    /**
     * People whose enrolment, roles or profile changed since `since` (everyone enrolled, on a
     * first read), in core_enrol_get_enrolled_users' shape with language, time zone and state.
     *
     * @param int $after Last user id already returned.
     * @param int $limit The most to return.
     * @return array
     */
    private function read_users(int $after, int $limit): array {
        global $DB;
        $params = ['c1' => $this->course->id, 'a1' => $after];
        if ($this->since === 0) {
            $sql = "SELECT DISTINCT ue.userid AS id
                      FROM {user_enrolments} ue
                      JOIN {enrol} e ON e.id = ue.enrolid
                     WHERE e.courseid = :c1 AND ue.userid > :a1
                  ORDER BY ue.userid";
        } else {
            $params += [
                's1' => $this->since, 's2' => $this->since, 's3' => $this->since,
                'ctx' => $this->context->id, 'a2' => $after, 's4' => $this->since,
                'c2' => $this->course->id, 'a3' => $after, 's5' => $this->since, 'enrolment' => 'enrolment', 'role' => 'role',
                'c3' => $this->course->id, 'a4' => $after, 's6' => $this->since,
            ];
            $sql = "SELECT id FROM (
                        SELECT ue.userid AS id
                          FROM {user_enrolments} ue
                          JOIN {enrol} e ON e.id = ue.enrolid
                         WHERE e.courseid = :c1 AND ue.userid > :a1
                           AND (ue.timemodified > :s1 OR ue.timecreated > :s2 OR e.timemodified > :s3)
                         UNION
                        SELECT ra.userid AS id
                          FROM {role_assignments} ra
                         WHERE ra.contextid = :ctx AND ra.userid > :a2 AND ra.timemodified > :s4
                         UNION
                        SELECT t.userid AS id
                          FROM {local_circolo_tombstones} t
                         WHERE t.courseid = :c2 AND t.userid > :a3 AND t.timecreated > :s5
                           AND t.itemtype IN (:enrolment, :role)
                         UNION
                        SELECT u.id
                          FROM {user} u
                          JOIN {user_enrolments} ue2 ON ue2.userid = u.id
                          JOIN {enrol} e2 ON e2.id = ue2.enrolid
                         WHERE e2.courseid = :c3 AND u.id > :a4 AND u.timemodified > :s6
                    ) changed
                  ORDER BY id";
        }
        $ids = array_keys($DB->get_records_sql($sql, $params, 0, $limit));
        if (!$ids) {
            return [];
        }
        [$in, $inparams] = $DB->get_in_or_equal($ids, SQL_PARAMS_NAMED);
        $namefields = implode(', ', \core_user\fields::get_name_fields());
        $people = $DB->get_records_sql("SELECT id, deleted, suspended, email, lang, timezone, $namefields
                                          FROM {user} WHERE id $in", $inparams);
        $active = $DB->get_records_sql_menu(
            "SELECT DISTINCT ue.userid, 1
               FROM {user_enrolments} ue
               JOIN {enrol} e ON e.id = ue.enrolid
              WHERE e.courseid = :courseid AND ue.userid $in AND ue.status = :active AND e.status = :enabled
                AND ue.timestart <= :now1 AND (ue.timeend = 0 OR ue.timeend > :now2)",
            $inparams + ['courseid' => $this->course->id, 'active' => ENROL_USER_ACTIVE,
                'enabled' => ENROL_INSTANCE_ENABLED, 'now1' => $this->now, 'now2' => $this->now]);
        $roles = [];
        $rs = $DB->get_recordset_sql(
            "SELECT ra.id, ra.userid, r.id AS roleid, r.shortname
               FROM {role_assignments} ra
               JOIN {role} r ON r.id = ra.roleid
              WHERE ra.contextid = :contextid AND ra.userid $in
           ORDER BY r.sortorder", $inparams + ['contextid' => $this->context->id]);
        foreach ($rs as $ra) {
            $roles[$ra->userid][$ra->roleid] = ['roleid' => (int) $ra->roleid, 'shortname' => $ra->shortname];
        }
        $rs->close();
        $groups = [];
        $rs = $DB->get_recordset_sql(
            "SELECT gm.id, gm.userid, g.id AS groupid, g.name
               FROM {groups_members} gm
               JOIN {groups} g ON g.id = gm.groupid
              WHERE g.courseid = :courseid AND gm.userid $in
           ORDER BY g.id", $inparams + ['courseid' => $this->course->id]);
        foreach ($rs as $gm) {
            $groups[$gm->userid][] = ['id' => (int) $gm->groupid,
                'name' => format_string($gm->name, true, ['context' => $this->context])];
        }
        $rs->close();
        $lastaccess = $DB->get_records_sql_menu(
            "SELECT userid, timeaccess FROM {user_lastaccess} WHERE courseid = :courseid AND userid $in",
            $inparams + ['courseid' => $this->course->id]);

        $users = [];
        foreach ($ids as $id) {
            $u = $people[$id] ?? null;
            $users[] = [
                'id' => (int) $id,
                'fullname' => $u && !$u->deleted ? fullname($u, true) : '',
                'email' => $u && !$u->deleted ? (string) $u->email : '',
                'lang' => $u ? (string) $u->lang : '',
                'timezone' => $u ? (string) $u->timezone : '',
                'suspended' => $u ? (bool) $u->suspended : false,
                'deleted' => !$u || (bool) $u->deleted,
                'enrolled' => isset($active[$id]),
                'lastcourseaccess' => (int) ($lastaccess[$id] ?? 0),
                'roles' => array_values($roles[$id] ?? []),
                'groups' => $groups[$id] ?? [],
            ];
        }
        return $users;
    }

    /**
     * Full names of the given users, with their deleted flag, in one query.
     *
     * @param array $userids User ids (repeats and zeros allowed).
     * @return stdClass[] By user id: fullname, deleted.
     */
    private function user_names(array $userids): array {
        global $DB;
        $userids = array_filter(array_unique(array_map('intval', $userids)));
        if (!$userids) {
            return [];
        }
        $fields = 'id, deleted, ' . implode(', ', \core_user\fields::get_name_fields());
        $names = [];
        foreach ($DB->get_records_list('user', 'id', $userids, '', $fields) as $user) {
            $names[$user->id] = (object) ['fullname' => $user->deleted ? '' : fullname($user, true),
                'deleted' => (bool) $user->deleted];
        }
        return $names;
    }
}
