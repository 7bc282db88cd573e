<?php
// Prepare a freshly installed Moodle for Circolo's end-to-end tests: what a test site needs that
// is not under test (no mail, no CDN, no tours, loopback tools allowed). Everything Circolo's
// README tells IT to do is left to the tests and to webservice_setup.php.
//
//   php configure_site.php <moodle root>
define('CLI_SCRIPT', true);
require($argv[1] . '/config.php');
require_once($CFG->libdir . '/filterlib.php');

// Circolo runs on 127.0.0.1 on a free port: Moodle's cURL wrapper blocks both by default, and
// it fetches the tool's keys (deep linking, service tokens) and posts the registration with it.
set_config('curlsecurityblockedhosts', '');
set_config('curlsecurityallowedport', '');
set_config('noreplyaddress', 'noreply@example.org');
// MathJax would be fetched from a CDN on every page; user tours cover what the tests click.
filter_set_global_state('mathjaxloader', TEXTFILTER_DISABLED);
$DB->set_field('tool_usertours_tours', 'enabled', 0);
// No "register your site" or "complete your profile" detours for the administrator.
set_config('registrationpending', 0);
unset_config('adminsetuppending');
purge_all_caches();
echo json_encode(['wwwroot' => $CFG->wwwroot, 'release' => $CFG->release]), "\n";
