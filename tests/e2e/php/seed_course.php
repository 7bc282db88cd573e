<?php
// Create a course from a JSON description with Moodle's own data generator: users (with their
// language and time zone), enrolments, groups, forums (hidden ones too), discussions and replies
// at the times given. Users that already exist (same username) are reused, so several courses can
// share people. Prints the Moodle ids of everything it made, as JSON.
//
//   php seed_course.php <moodle root> <spec.json>
//
// The spec (see tests/e2e/seeding.py, which writes it):
//   {"course": {"fullname", "shortname", "summary", "lang", "startdate", "enddate"},
//    "users": [{"username", "firstname", "lastname", "email", "password", "lang", "timezone",
//               "role" (a role shortname: student, editingteacher, teacher), "groups": [names],
//               "deleted" (delete the account once its posts exist),
//               "enrol" (false: an account in no course)}],
//    "groups": [names],
//    "forums": [{"key", "type", "name", "intro", "visible" (0 hides it), "groupmode"}],
//    "discussions": [{"key", "forum", "user", "subject", "message", "created", "group", "pinned",
//                     "posts": [{"key", "parent" (a post key, or null for the first post),
//                                "user", "subject", "message", "created", "modified",
//                                "privatereplyto" (a username or null), "deleted"}]}]}
define('CLI_SCRIPT', true);
require($argv[1] . '/config.php');
require_once($CFG->libdir . '/phpunit/classes/util.php');
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->dirroot . '/group/lib.php');

$spec = json_decode(file_get_contents($argv[2]), true, 512, JSON_THROW_ON_ERROR);
$generator = phpunit_util::get_data_generator();
$forumgenerator = $generator->get_plugin_generator('mod_forum');
\core\session\manager::set_user(get_admin());

$course = $generator->create_course([
    'fullname' => $spec['course']['fullname'],
    'shortname' => $spec['course']['shortname'],
    'summary' => $spec['course']['summary'] ?? '',
    'lang' => $spec['course']['lang'] ?? '',
    'startdate' => $spec['course']['startdate'] ?? time(),
    'enddate' => $spec['course']['enddate'] ?? 0,
    'numsections' => 2,
]);

$groupids = [];
foreach ($spec['groups'] ?? [] as $name) {
    $groupids[$name] = $generator->create_group(['courseid' => $course->id, 'name' => $name])->id;
}

$userids = [];
$todelete = [];
foreach ($spec['users'] as $person) {
    $user = $DB->get_record('user', ['username' => $person['username'], 'deleted' => 0]);
    if (!$user) {
        $user = $generator->create_user([
            'username' => $person['username'],
            'firstname' => $person['firstname'],
            'lastname' => $person['lastname'],
            'email' => $person['email'],
            'password' => $person['password'],
            'lang' => $person['lang'] ?: $CFG->lang,
            'timezone' => $person['timezone'] ?? '99',
        ]);
    }
    $userids[$person['username']] = (int) $user->id;
    if ($person['enrol'] ?? true) {
        $generator->enrol_user($user->id, $course->id, $person['role'] ?? 'student');
    }
    foreach ($person['groups'] ?? [] as $name) {
        $generator->create_group_member(['groupid' => $groupids[$name], 'userid' => $user->id]);
    }
    if (!empty($person['deleted'])) {
        $todelete[] = $user;
    }
}

$forums = [];
foreach ($spec['forums'] as $forum) {
    $record = [
        'course' => $course->id,
        'type' => $forum['type'] ?? 'general',
        'name' => $forum['name'],
        'intro' => $forum['intro'] ?? '',
        'groupmode' => $forum['groupmode'] ?? 0,
    ];
    $instance = $generator->create_module('forum', $record,
        ['visible' => $forum['visible'] ?? 1, 'section' => $forum['type'] === 'news' ? 0 : 1]);
    $forums[$forum['key']] = ['id' => (int) $instance->id, 'cmid' => (int) $instance->cmid];
}

$discussions = [];
$posts = [];
foreach ($spec['discussions'] as $discussion) {
    $first = array_shift($discussion['posts']);
    $record = $forumgenerator->create_discussion([
        'course' => $course->id,
        'forum' => $forums[$discussion['forum']]['id'],
        'userid' => $userids[$discussion['user']],
        'name' => $discussion['subject'],
        'subject' => $discussion['subject'],
        'message' => $first['message'],
        'messageformat' => FORMAT_HTML,
        'timecreated' => $first['created'],
        'timemodified' => $first['created'],
        'groupid' => isset($discussion['group']) ? $groupids[$discussion['group']] : -1,
        'pinned' => empty($discussion['pinned']) ? FORUM_DISCUSSION_UNPINNED : FORUM_DISCUSSION_PINNED,
    ]);
    $discussions[$discussion['key']] = (int) $record->id;
    $posts[$first['key']] = (int) $DB->get_field('forum_discussions', 'firstpost', ['id' => $record->id]);
    foreach ($discussion['posts'] as $post) {
        $created = $forumgenerator->create_post([
            'discussion' => $record->id,
            'parent' => $posts[$post['parent']],
            'userid' => $userids[$post['user']],
            'subject' => $post['subject'],
            'message' => $post['message'],
            'messageformat' => FORMAT_HTML,
            'created' => $post['created'],
            'modified' => $post['modified'] ?? $post['created'],
            'privatereplyto' => empty($post['privatereplyto']) ? 0 : $userids[$post['privatereplyto']],
            // A post erased for privacy: Moodle keeps its shell.
            'deleted' => empty($post['deleted']) ? 0 : 1,
        ]);
        $posts[$post['key']] = (int) $created->id;
    }
}

// Accounts deleted after they wrote: Moodle keeps their posts, as on a real site.
foreach ($todelete as $user) {
    delete_user($user);
}

echo json_encode([
    'course_id' => (int) $course->id,
    'users' => $userids,
    'groups' => $groupids,
    'forums' => $forums,
    'discussions' => $discussions,
    'posts' => $posts,
]), "\n";
