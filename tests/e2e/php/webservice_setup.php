<?php
// Do what Circolo's README ("Deployment", step 3) tells IT to do for the web services, with
// Moodle's own APIs instead of its admin pages: the web-service user, web services and REST on,
// an external service with exactly the functions the README lists (authorised users only), a
// system role with exactly the capabilities the README lists, a token, and the user enrolled as
// non-editing teacher in the courses. Prints the ids (and the token) as JSON on stdout; the
// harness keeps the token in memory only.
//
//   php webservice_setup.php <moodle root> <setup.json>
//
// setup.json: {"username", "firstname", "lastname", "email", "service" (its name),
//              "functions": [...], "capabilities": [...], "courses": [course ids]}
define('CLI_SCRIPT', true);
require($argv[1] . '/config.php');
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->dirroot . '/webservice/lib.php');
require_once($CFG->libdir . '/phpunit/classes/util.php');

$setup = json_decode(file_get_contents($argv[2]), true, 512, JSON_THROW_ON_ERROR);
\core\session\manager::set_user(get_admin());
$system = context_system::instance();

// 1. A user for Circolo: manual authentication, a long random password nobody needs to know.
$userid = user_create_user((object) [
    'username' => $setup['username'],
    'firstname' => $setup['firstname'],
    'lastname' => $setup['lastname'],
    'email' => $setup['email'],
    'auth' => 'manual',
    'password' => random_string(32) . 'A1!',
    'confirmed' => 1,
    'mnethostid' => $CFG->mnet_localhost_id,
]);

// 2. Web services and REST on; an external service with the functions, authorised users only.
set_config('enablewebservices', 1);
$protocols = array_filter(explode(',', get_config('core', 'webserviceprotocols') ?: ''));
if (!in_array('rest', $protocols)) {
    $protocols[] = 'rest';
}
set_config('webserviceprotocols', implode(',', $protocols));
$webservice = new webservice();
$serviceid = $webservice->add_external_service((object) [
    'name' => $setup['service'],
    'shortname' => 'circolo',
    'enabled' => 1,
    'restrictedusers' => 1,
    'downloadfiles' => 1,
    'uploadfiles' => 0,
    'requiredcapability' => '',
]);
$unknown = [];
foreach ($setup['functions'] as $function) {
    if (!$DB->record_exists('external_functions', ['name' => $function])) {
        $unknown[] = $function;
        continue;
    }
    $webservice->add_external_function_to_service($function, $serviceid);
}
$webservice->add_ws_authorised_user((object) [
    'externalserviceid' => $serviceid, 'userid' => $userid, 'iprestriction' => '',
    'validuntil' => 0,
]);

// 3. A system role with only these capabilities, assigned to the user.
$roleid = create_role('Circolo web services', 'circolows', 'The capabilities Circolo needs.');
set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
foreach ($setup['capabilities'] as $capability) {
    if (!get_capability_info($capability)) {
        $unknown[] = $capability;
        continue;
    }
    assign_capability($capability, CAP_ALLOW, $roleid, $system->id, true);
}
role_assign($roleid, $userid, $system->id);

// 4. A token for the user and the service.
$service = $DB->get_record('external_services', ['id' => $serviceid], '*', MUST_EXIST);
$token = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $userid, $system,
    0, '', 'Circolo');

// 5. Enrolled in each course as non-editing teacher, so it may message every learner.
$generator = phpunit_util::get_data_generator();
foreach ($setup['courses'] as $courseid) {
    $generator->enrol_user($userid, $courseid, 'teacher');
}

echo json_encode([
    'userid' => (int) $userid,
    'serviceid' => (int) $serviceid,
    'roleid' => (int) $roleid,
    'token' => $token,
    'unknown' => $unknown,
]), "\n";
