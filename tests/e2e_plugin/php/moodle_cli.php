<?php
// This file is part of Circolo's real-Moodle tests (tests/e2e_plugin), not of the plugin.
//
// Usage: php moodle_cli.php <moodle dir> <spec.json>, the spec being {"action": ..., arguments}.
// Prints one JSON object on its last line: what the action made or found. Runs as the site
// administrator. (The same calling convention as tests/e2e's MoodleSite.run_json.)

define('CLI_SCRIPT', true);

$moodledir = $argv[1] ?? '';
$args = json_decode(file_get_contents($argv[2] ?? 'php://stdin'), true) ?: [];
$action = $args['action'] ?? '';
require($moodledir . '/config.php');
require_once($CFG->libdir . '/phpunit/classes/util.php');
require_once($CFG->dirroot . '/mod/lti/locallib.php');

\core\session\manager::set_user(get_admin());
$generator = phpunit_util::get_data_generator();

/**
 * Print the result as JSON and stop.
 *
 * @param mixed $result What to print.
 */
function done($result): void {
    echo json_encode($result, JSON_UNESCAPED_SLASHES), "\n";
    exit(0);
}

switch ($action) {
    case 'italian':
        // A minimal Italian language pack: Moodle keeps a user's lang only if the pack exists.
        $dir = $CFG->dataroot . '/lang/it';
        check_dir_exists($dir);
        file_put_contents($dir . '/langconfig.php', "<?php\n\$string['thislanguage'] = 'Italiano';\n"
            . "\$string['thislanguageint'] = 'Italian';\n\$string['locale'] = 'it_IT.UTF-8';\n"
            . "\$string['iso6391'] = 'it';\n\$string['decsep'] = ',';\n\$string['thousandssep'] = '.';\n");
        get_string_manager()->reset_caches();
        done(['installed' => array_keys(get_string_manager()->get_list_of_translations())]);

    case 'seed':
        // A course with teachers, learners (some Italian), a forum and its discussions.
        $course = $generator->create_course(['fullname' => $args['fullname'] ?? 'Circolo e2e',
            'shortname' => $args['shortname'] ?? 'circolo-e2e-' . random_string(4)]);
        $password = $args['password'] ?? 'Circolo-e2e-1';
        $teacher = $generator->create_user(['firstname' => 'Teresa', 'lastname' => 'Teacher', 'lang' => 'en',
            'username' => 'teacher' . strtolower(random_string(4)), 'password' => $password]);
        $generator->enrol_user($teacher->id, $course->id, 'editingteacher');
        $learners = [];
        for ($i = 0; $i < ($args['learners'] ?? 5); $i++) {
            $learner = $generator->create_user(['firstname' => 'Learner', 'lastname' => sprintf('%03d', $i),
                'password' => $password,
                'lang' => $i % 2 ? 'en' : 'it', 'timezone' => $i % 2 ? 'Europe/London' : 'Europe/Rome']);
            $generator->enrol_user($learner->id, $course->id, 'student');
            $learners[] = (int) $learner->id;
        }
        $forum = $generator->create_module('forum', ['course' => $course->id, 'name' => 'Discussions']);
        $forumgen = $generator->get_plugin_generator('mod_forum');
        $people = array_merge([(int) $teacher->id], $learners);
        $discussions = [];
        $started = time() - 86400 * 30;
        for ($d = 0; $d < ($args['discussions'] ?? 3); $d++) {
            $author = $people[$d % count($people)];
            $discussion = $forumgen->create_discussion(['course' => $course->id, 'forum' => $forum->id,
                'userid' => $author, 'name' => "Question $d", 'message' => "<p>Question $d text</p>",
                'timemodified' => $started + $d * 60]);
            $parent = $discussion->firstpost;
            for ($p = 0; $p < ($args['replies'] ?? 2); $p++) {
                $post = $forumgen->create_post(['discussion' => $discussion->id, 'parent' => $parent,
                    'userid' => $people[($d + $p + 1) % count($people)], 'subject' => "Re: Question $d",
                    'message' => "<p>Answer $p to $d</p>", 'created' => $started + $d * 60 + $p + 1,
                    'modified' => $started + $d * 60 + $p + 1]);
                $parent = $post->id;
            }
            $discussions[] = (int) $discussion->id;
        }
        done(['courseid' => (int) $course->id, 'forumid' => (int) $forum->id, 'cmid' => (int) $forum->cmid,
            'teacher' => (int) $teacher->id, 'teacherusername' => $teacher->username, 'password' => $password,
            'learners' => $learners, 'discussions' => $discussions]);

    case 'circolo_activity':
        // What a teacher adding Circolo from the activity chooser leaves in the course (the
        // generator's default key and secret would override the tool's client id).
        $typeid = (int) get_config('local_circolo', 'ltitypeid');
        $lti = $generator->create_module('lti', ['course' => $args['courseid'], 'typeid' => $typeid,
            'name' => 'Circolo', 'toolurl' => '', 'resourcekey' => '', 'password' => '']);
        done(['cmid' => (int) $lti->cmid, 'typeid' => $typeid]);

    case 'post':
        // A reply written as a learner through the forum's own API (events and all).
        $user = core_user::get_user($args['userid'], '*', MUST_EXIST);
        \core\session\manager::set_user($user);
        $discussion = $DB->get_record('forum_discussions', ['id' => $args['discussionid']], '*', MUST_EXIST);
        $forum = $DB->get_record('forum', ['id' => $discussion->forum], '*', MUST_EXIST);
        $cm = get_coursemodule_from_instance('forum', $forum->id, $forum->course, false, MUST_EXIST);
        require_once($CFG->dirroot . '/mod/forum/lib.php');
        // A private reply (teachers may write them) goes to the author of the post it answers.
        $post = (object) ['discussion' => $discussion->id, 'parent' => $args['parent'] ?? $discussion->firstpost,
            'subject' => 'Re: ' . $discussion->name, 'message' => $args['message'] ?? '<p>A new reply</p>',
            'messageformat' => FORMAT_HTML, 'messagetrust' => 0, 'course' => $forum->course,
            'forum' => $forum->id, 'itemid' => 0, 'isprivatereply' => !empty($args['private'])];
        $post->id = forum_add_new_post($post, null);
        $context = context_module::instance($cm->id);
        \mod_forum\event\post_created::create(['context' => $context, 'objectid' => $post->id,
            'other' => ['discussionid' => $discussion->id, 'forumid' => $forum->id, 'forumtype' => $forum->type]])
            ->trigger();
        done(['postid' => (int) $post->id, 'time' => time(),
            'privatereplyto' => (int) $DB->get_field('forum_posts', 'privatereplyto', ['id' => $post->id])]);

    case 'delete_post':
        require_once($CFG->dirroot . '/mod/forum/lib.php');
        $post = $DB->get_record('forum_posts', ['id' => $args['postid']], '*', MUST_EXIST);
        $discussion = $DB->get_record('forum_discussions', ['id' => $post->discussion], '*', MUST_EXIST);
        $forum = $DB->get_record('forum', ['id' => $discussion->forum], '*', MUST_EXIST);
        $course = get_course($forum->course);
        $cm = get_coursemodule_from_instance('forum', $forum->id, $course->id, false, MUST_EXIST);
        done(['deleted' => forum_delete_post($post, true, $course, $cm, $forum)]);

    case 'delete_user':
        $user = core_user::get_user($args['userid'], '*', MUST_EXIST);
        done(['deleted' => delete_user($user)]);

    case 'unenrol':
        $instance = $DB->get_record('enrol', ['courseid' => $args['courseid'], 'enrol' => 'manual'], '*', MUST_EXIST);
        enrol_get_plugin('manual')->unenrol_user($instance, $args['userid']);
        done(['unenrolled' => true]);

    case 'token':
        // The token the plugin made for Circolo's service user (the test reads it from Moodle).
        $service = $DB->get_record('external_services', ['shortname' => 'local_circolo'], '*', MUST_EXIST);
        $userid = (int) get_config('local_circolo', 'serviceuserid');
        $tokens = $DB->get_records('external_tokens', ['userid' => $userid, 'externalserviceid' => $service->id]);
        done(['tokens' => array_values(array_map(function($t) {
            return $t->token;
        }, $tokens))]);

    case 'tool':
        $typeid = (int) get_config('local_circolo', 'ltitypeid');
        $type = $DB->get_record('lti_types', ['id' => $typeid]);
        $course = $args['courseid'] ?? SITEID;
        $chooser = array_map(function($t) {
            return (int) $t->id;
        }, lti_get_lti_types_by_course($course, [LTI_COURSEVISIBLE_ACTIVITYCHOOSER]));
        done(['type' => $type, 'inchooser' => in_array($typeid, $chooser, true),
            'config' => lti_get_type_config($typeid)]);

    case 'notifications':
        $records = $DB->get_records('notifications', ['useridto' => $args['userid'], 'component' => 'local_circolo'],
            'id', 'id, useridto, useridfrom, subject, fullmessage, fullmessagehtml, contexturl, contexturlname, timeread, customdata');
        done(['notifications' => array_values($records),
            'deliveries' => array_values($DB->get_records('local_circolo_deliveries', ['userid' => $args['userid']]))]);

    case 'adhoc':
        done(['queued' => array_values($DB->get_records('task_adhoc', ['component' => 'local_circolo'], 'id',
            'id, classname, customdata, nextruntime, faildelay, timestarted'))]);

    case 'tombstones':
        done(['tombstones' => array_values($DB->get_records('local_circolo_tombstones', null, 'id'))]);

    case 'privacy':
        // The plugin's privacy provider through Moodle's own privacy manager: metadata, the
        // export zip of one person, then the deletion of their data.
        $manager = new \core_privacy\manager();
        $collection = \local_circolo\privacy\provider::get_metadata(new \core_privacy\local\metadata\collection('local_circolo'));
        $items = array_map(function($item) {
            return (new \ReflectionClass($item))->getShortName() . ':' . $item->get_name();
        }, $collection->get_collection());
        $user = core_user::get_user($args['userid'], '*', MUST_EXIST);
        $contexts = \local_circolo\privacy\provider::get_contexts_for_userid($user->id)->get_contextids();
        $approved = new \core_privacy\local\request\contextlist_collection($user->id);
        $approved->add_contextlist(new \core_privacy\local\request\approved_contextlist($user, 'local_circolo', $contexts));
        $zip = $manager->export_user_data($approved);
        $exported = [];
        $archive = new ZipArchive();
        $archive->open($zip);
        for ($i = 0; $i < $archive->numFiles; $i++) {
            $name = $archive->getNameIndex($i);
            if (substr($name, -strlen('/Circolo/data.json')) === '/Circolo/data.json') {
                $exported[$name] = json_decode($archive->getFromIndex($i), true);
            }
        }
        $archive->close();
        $manager->delete_data_for_user($approved);
        done(['compliant' => $manager->component_is_compliant('local_circolo'), 'metadata' => $items,
            'contexts' => array_values($contexts), 'exported' => $exported,
            'left' => $DB->count_records('local_circolo_deliveries', ['userid' => $user->id])]);

    case 'config':
        $config = (array) get_config('local_circolo');
        unset($config['secret']);
        done($config);

    default:
        fwrite(STDERR, "unknown action: $action\n");
        exit(2);
}
