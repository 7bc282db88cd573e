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
 * English strings of the Circolo companion plugin.
 *
 * @package    local_circolo
 * @category   string
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['circolo:deliverprompts'] = 'Deliver Circolo\'s prompts as notifications';
$string['circolo:readchanges'] = 'Read what changed in a course for Circolo';
$string['circoloanswer'] = 'Circolo answered in a way the plugin cannot use. Check the address, then try again.';
$string['circolounreachable'] = 'Moodle could not reach Circolo: {$a}. Check the address; if Circolo runs on this network, check Site administration > General > Security > HTTP security (blocked hosts and allowed ports).';
$string['circolourl'] = 'Circolo\'s address';
$string['circolourl_help'] = 'The address Circolo is served at, for example https://circolo.example.org. It must use https.';
$string['code'] = 'One-time code';
$string['code_help'] = 'Run <code>flask circolo moodle invite</code> where Circolo is installed: it prints a code that works once, for a limited time.';
$string['connect'] = 'Connect';
$string['connectedmessage'] = 'Moodle is connected to Circolo. Teachers can now add Circolo from the activity chooser.';
$string['connectedsince'] = 'Connected since {$a}';
$string['connectfailed'] = 'Connecting failed: {$a}';
$string['connectheading'] = 'Connect to Circolo';
$string['connecthelp'] = 'Connect enables web services and REST, creates Circolo\'s service user with its role and token, registers Circolo as an LTI 1.3 tool shown in the activity chooser, and hands Circolo what it needs over https. Pressing it again with a new code repairs the set-up.';
$string['disconnect'] = 'Disconnect';
$string['disconnected'] = 'Moodle no longer sends events to Circolo, and Circolo\'s token was deleted. The LTI tool and the service user were kept.';
$string['eventrefused'] = 'Circolo did not accept the event.';
$string['intro'] = 'Circolo manages the community of your courses\' forums: it reads who talks to whom, shows teachers how the community is doing, and sends learners peer-mentoring prompts as Moodle notifications.';
$string['invalidcircolourl'] = 'Give Circolo\'s https address, without a query or anchor (http is accepted only for a Circolo on this machine).';
$string['lastevent'] = 'Last event sent';
$string['lasteventwhen'] = '{$a->time}: {$a->outcome}';
$string['messageprovider:prompt'] = 'Peer-mentoring suggestions from Circolo';
$string['noanswer'] = 'no explanation was given';
$string['notconnected'] = 'Not connected';
$string['pluginname'] = 'Circolo';
$string['privacy:metadata:circolo'] = 'Circolo, the community-management tool this site is connected to, reads the course forums and rosters through the plugin and receives notice of changes.';
$string['privacy:metadata:circolo:email'] = 'The e-mail address of each participant.';
$string['privacy:metadata:circolo:enrolment'] = 'Each participant\'s enrolment, roles and groups in the course.';
$string['privacy:metadata:circolo:fullname'] = 'The full name of each participant and post author.';
$string['privacy:metadata:circolo:lang'] = 'Each participant\'s preferred language, to write prompts in it.';
$string['privacy:metadata:circolo:lastcourseaccess'] = 'When each participant last accessed the course.';
$string['privacy:metadata:circolo:posts'] = 'Forum posts: subject, text, author, times, and whether they are private replies.';
$string['privacy:metadata:circolo:timezone'] = 'Each participant\'s time zone, to avoid prompting them at night.';
$string['privacy:metadata:circolo:userid'] = 'The Moodle user id, also sent when a user is deleted so that Circolo forgets them.';
$string['privacy:metadata:core_message'] = 'Circolo\'s prompts are delivered as Moodle notifications.';
$string['privacy:metadata:deliveries'] = 'The prompts delivered to a person, so that none is delivered twice.';
$string['privacy:metadata:deliveries:courseid'] = 'The course the prompt was about.';
$string['privacy:metadata:deliveries:notificationid'] = 'The notification Moodle created.';
$string['privacy:metadata:deliveries:reference'] = 'Circolo\'s reference of the prompt.';
$string['privacy:metadata:deliveries:status'] = 'Whether it was delivered, or stored silently because of the person\'s preferences.';
$string['privacy:metadata:deliveries:timecreated'] = 'When it was delivered.';
$string['privacy:metadata:deliveries:userid'] = 'The person it was delivered to.';
$string['privacy:metadata:tombstones'] = 'What was deleted in a course (posts, discussions, enrolments, roles) or on the site (users), kept 90 days so that Circolo deletes its copy too.';
$string['privacy:metadata:tombstones:courseid'] = 'The course.';
$string['privacy:metadata:tombstones:itemid'] = 'The id of what was deleted.';
$string['privacy:metadata:tombstones:itemtype'] = 'What kind of thing was deleted.';
$string['privacy:metadata:tombstones:timecreated'] = 'When it was deleted.';
$string['privacy:metadata:tombstones:userid'] = 'The person concerned: the post\'s author, the unenrolled person, the deleted user.';
$string['promptlink'] = 'Open the discussion';
$string['promptsubject'] = 'A suggestion from Circolo in {$a}';
$string['reconnect'] = 'Connect again';
$string['refused'] = 'Circolo refused the connection (HTTP {$a->status}): {$a->message}';
$string['refused_invite_expired'] = 'The one-time code has expired. Run flask circolo moodle invite again and use the new code.';
$string['refused_invite_invalid'] = 'Circolo does not know this one-time code. Check that it was copied whole, or run flask circolo moodle invite again.';
$string['refused_invite_used'] = 'This one-time code was already used. Run flask circolo moodle invite again and use the new code.';
$string['refused_site_mismatch'] = 'Circolo reached a different Moodle site than this one: {$a}. Check this site\'s address (wwwroot) as Circolo sees it.';
$string['refused_token_refused'] = 'Circolo could not use the token it was given: {$a}. Check that Circolo can reach this site\'s web services.';
$string['roledescription'] = 'Given by the Circolo plugin to Circolo\'s service user, at system level: exactly the capabilities Circolo\'s calls need.';
$string['rolename'] = 'Circolo service';
$string['sendfailed'] = 'Moodle could not send the notification.';
$string['serviceuser'] = 'Service user';
$string['serviceuserdescription'] = 'Circolo\'s service user, created by the Circolo plugin. It signs in only with its web-service token.';
$string['serviceuserlastname'] = 'service';
$string['state'] = 'State';
$string['tasknotifycircolo'] = 'Tell Circolo a course changed';
$string['taskpurgerecords'] = 'Delete Circolo\'s old delivery records and tombstones';
$string['tool'] = 'LTI tool';
$string['toolactive'] = 'active';
$string['tooldeployment'] = 'client id {$a->clientid}, deployment {$a->deploymentid}';
$string['toolinchooser'] = 'shown in the activity chooser';
$string['toolnotactive'] = 'not active';
$string['toolnotinchooser'] = 'not in the activity chooser';
