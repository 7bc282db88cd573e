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
 * The plugin's page: Circolo's address, the one-time code, Connect, and the connection's state.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

use local_circolo\form\connect_form;
use local_circolo\local\connection;
use local_circolo\local\setup;

require_once(__DIR__ . '/../../config.php');
require_once($CFG->libdir . '/adminlib.php');
require_once($CFG->dirroot . '/mod/lti/locallib.php');

admin_externalpage_setup('local_circolo');

$pageurl = new moodle_url('/local/circolo/index.php');
$action = optional_param('action', '', PARAM_ALPHA);

if ($action === 'disconnect') {
    require_sesskey();
    setup::disconnect();
    redirect($pageurl, get_string('disconnected', 'local_circolo'), null, \core\output\notification::NOTIFY_SUCCESS);
}

$form = new connect_form($pageurl);
$form->set_data(['circolourl' => connection::get('circolourl')]);
$error = '';
if ($data = $form->get_data()) {
    require_sesskey();
    try {
        setup::connect($data->circolourl, $data->code);
        redirect($pageurl, get_string('connectedmessage', 'local_circolo'), null,
            \core\output\notification::NOTIFY_SUCCESS);
    } catch (moodle_exception $e) {
        $error = $e->getMessage();
        connection::set('lasterror', $error);
        debugging('local_circolo: Connect failed: ' . $e->debuginfo, DEBUG_DEVELOPER);
    }
}

echo $OUTPUT->header();
echo $OUTPUT->heading(get_string('pluginname', 'local_circolo'));
echo html_writer::tag('p', get_string('intro', 'local_circolo'));

// The connection's state.
$rows = [];
if (connection::is_connected()) {
    $since = userdate((int) connection::get('connectedat'));
    $state = html_writer::span(get_string('connectedsince', 'local_circolo', $since), 'badge bg-success text-white');
} else {
    $state = html_writer::span(get_string('notconnected', 'local_circolo'), 'badge bg-secondary text-white');
}
$rows[] = [get_string('state', 'local_circolo'), $state];
if (connection::get('circolourl') !== '') {
    $rows[] = [get_string('circolourl', 'local_circolo'), s(connection::get('circolourl'))];
}
$typeid = (int) connection::get('ltitypeid', 0);
$type = $typeid ? $DB->get_record('lti_types', ['id' => $typeid]) : false;
if ($type) {
    $facts = [
        $type->state == LTI_TOOL_STATE_CONFIGURED ? get_string('toolactive', 'local_circolo')
            : get_string('toolnotactive', 'local_circolo'),
        $type->coursevisible == LTI_COURSEVISIBLE_ACTIVITYCHOOSER ? get_string('toolinchooser', 'local_circolo')
            : get_string('toolnotinchooser', 'local_circolo'),
        get_string('tooldeployment', 'local_circolo', (object) ['clientid' => s($type->clientid), 'deploymentid' => $type->id]),
    ];
    $link = html_writer::link(new moodle_url('/mod/lti/toolconfigure.php'), format_string($type->name));
    $rows[] = [get_string('tool', 'local_circolo'), $link . ' — ' . implode(', ', $facts)];
}
$userid = (int) connection::get('serviceuserid', 0);
if ($userid && ($serviceuser = core_user::get_user($userid))) {
    $rows[] = [get_string('serviceuser', 'local_circolo'),
        html_writer::link(new moodle_url('/user/profile.php', ['id' => $userid]), fullname($serviceuser) . ' (' .
            s($serviceuser->username) . ')')];
}
if (connection::get('lasteventat') !== '') {
    $rows[] = [get_string('lastevent', 'local_circolo'), get_string('lasteventwhen', 'local_circolo', (object) [
        'time' => userdate((int) connection::get('lasteventat')), 'outcome' => s(connection::get('lasteventstatus'))])];
}
$table = new html_table();
$table->attributes['class'] = 'generaltable';
$table->data = $rows;
echo html_writer::table($table);

if ($error !== '') {
    echo $OUTPUT->notification(get_string('connectfailed', 'local_circolo', s($error)), \core\output\notification::NOTIFY_ERROR);
}

echo $OUTPUT->heading(get_string(connection::is_connected() ? 'reconnect' : 'connectheading', 'local_circolo'), 3);
echo html_writer::tag('p', get_string('connecthelp', 'local_circolo'));
$form->display();

if (connection::is_connected()) {
    echo $OUTPUT->single_button(new moodle_url($pageurl, ['action' => 'disconnect', 'sesskey' => sesskey()]),
        get_string('disconnect', 'local_circolo'), 'post');
}

echo $OUTPUT->footer();
