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

use context_system;
use moodle_exception;
use stdClass;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/externallib.php');
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->dirroot . '/webservice/lib.php');
require_once($CFG->dirroot . '/mod/lti/locallib.php');

/**
 * What pressing Connect does: everything IT used to set up by hand, then the handshake.
 *
 * Each step finds what an earlier Connect created and brings it up to date, so pressing Connect
 * again (with a new code) repairs a half-finished or changed set-up instead of duplicating it.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class setup {

    /** Username of the service user the plugin creates (a number is added if it is taken). */
    const USERNAME = 'circolo';

    /** Shortname of the system role the plugin creates for the service user. */
    const ROLE = 'circolo';

    /** Where Circolo publishes its tool description, relative to its base URL. */
    const TOOL_PATH = '/api/companion/tool';

    /**
     * The service user's capabilities: the plugin's own calls, then what Circolo's web-service
     * sync reads through core functions until it reads the plugin's changes call instead.
     */
    const CAPABILITIES = [
        // Every call, and entering courses without being enrolled in them (validate_context).
        'webservice/rest:use',
        'moodle/course:view',
        // The plugin's functions.
        'local/circolo:readchanges',
        'local/circolo:deliverprompts',
        // Core roster sync.
        'moodle/course:viewparticipants',
        'moodle/course:enrolreview',
        'moodle/user:viewdetails',
        'moodle/user:viewhiddendetails',
        // Profiles with their language (core_user_get_users_by_field leaves it out without).
        'moodle/user:viewalldetails',
        'moodle/course:useremail',
        'moodle/site:viewfullnames',
        'moodle/site:accessallgroups',
        'moodle/role:review',
        // Core forum sync.
        'mod/forum:viewdiscussion',
        'mod/forum:viewqandawithoutposting',
        'moodle/course:viewhiddenactivities',
        // Prompts posted as forum replies.
        'mod/forum:replypost',
        'mod/forum:startdiscussion',
    ];

    /**
     * Connect this site to the Circolo at $url with IT's one-time $code.
     *
     * @param string $url Circolo's base URL.
     * @param string $code The code `flask circolo moodle invite` printed.
     * @return stdClass What was set up: user, roleid, service, typeid, clientid, circolo.
     * @throws moodle_exception with a string of this plugin saying what failed
     */
    public static function connect(string $url, string $code): stdClass {
        global $CFG, $DB;

        $base = circolo_client::clean_base_url($url);
        $tool = circolo_client::get_json($base . self::TOOL_PATH);
        $connecturl = self::same_origin_url($base, $tool['connect_url'] ?? '');
        if (empty($tool['registration']) || !is_array($tool['registration'])) {
            throw new moodle_exception('circoloanswer', 'local_circolo', '', null, 'no registration in the tool description');
        }

        self::enable_web_services();
        $user = self::ensure_service_user();
        $roleid = self::ensure_role($user->id);
        $service = self::ensure_service($user->id);
        $type = self::ensure_lti_tool($tool['registration']);
        $token = external_generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $user->id, context_system::instance());
        $tokenid = $DB->get_field('external_tokens', 'id', ['token' => $token], MUST_EXIST);

        $body = json_encode([
            'code' => trim($code),
            'wwwroot' => $CFG->wwwroot,
            'token' => $token,
            'service_user_id' => (int) $user->id,
            'site' => [
                'name' => format_string(get_site()->fullname, true, ['context' => context_system::instance()]),
                'release' => $CFG->release,
                'version' => (string) $CFG->version,
            ],
            'plugin' => [
                'release' => self::plugin_release(),
                'version' => (string) get_config('local_circolo', 'version'),
            ],
            'platform' => [
                'issuer' => $CFG->wwwroot,
                'client_id' => $type->clientid,
                'deployment_id' => (string) $type->id,
                'auth_login_url' => $CFG->wwwroot . '/mod/lti/auth.php',
                'auth_token_url' => $CFG->wwwroot . '/mod/lti/token.php',
                'key_set_url' => $CFG->wwwroot . '/mod/lti/certs.php',
            ],
        ], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);

        try {
            [$status, $answer] = circolo_client::post_json($connecturl, $body,
                ['Accept-Language: ' . current_language()]);
        } catch (moodle_exception $e) {
            $DB->delete_records('external_tokens', ['id' => $tokenid]);
            throw $e;
        }
        if ($status !== 200 || empty($answer['connection']['secret']) || empty($answer['connection']['key_id'])) {
            // Circolo kept nothing: the token it was handed must not outlive the attempt.
            $DB->delete_records('external_tokens', ['id' => $tokenid]);
            throw self::refusal($status, $answer);
        }
        $eventsurl = self::same_origin_url($base, $answer['connection']['events_url'] ?? '');

        // Circolo holds the new token: the service user's older tokens are of no use any more.
        $DB->delete_records_select('external_tokens', 'userid = :userid AND externalserviceid = :serviceid AND id <> :id',
            ['userid' => $user->id, 'serviceid' => $service->id, 'id' => $tokenid]);

        connection::set('circolourl', $base);
        connection::set('keyid', clean_param($answer['connection']['key_id'], PARAM_ALPHANUMEXT));
        connection::set('secret', $answer['connection']['secret']);
        connection::set('eventsurl', $eventsurl);
        connection::set('connectedat', time());
        connection::set('circoloname', clean_param($answer['circolo']['name'] ?? 'Circolo', PARAM_TEXT));
        connection::set('lasterror', null);

        return (object) [
            'user' => $user,
            'roleid' => $roleid,
            'service' => $service,
            'typeid' => $type->id,
            'clientid' => $type->clientid,
        ];
    }

    /**
     * Forget the connection: no more events, the service user's tokens deleted.
     *
     * The service user, its role and the LTI tool stay, so that a later Connect reuses them and
     * existing Circolo activities keep their tool.
     */
    public static function disconnect(): void {
        global $DB;
        $userid = (int) connection::get('serviceuserid', 0);
        $service = $DB->get_record('external_services', ['shortname' => connection::SERVICE]);
        if ($userid && $service) {
            $DB->delete_records('external_tokens', ['userid' => $userid, 'externalserviceid' => $service->id]);
        }
        connection::forget();
    }

    /**
     * Turn on web services and the REST protocol.
     */
    public static function enable_web_services(): void {
        if (empty(get_config('core', 'enablewebservices'))) {
            set_config('enablewebservices', 1);
        }
        if (!webservice_protocol_is_enabled('rest')) {
            if (method_exists(\core\plugininfo\webservice::class, 'enable_plugin')) {
                \core\plugininfo\webservice::enable_plugin('rest', 1);
            } else {
                $protocols = array_filter(explode(',', (string) get_config('core', 'webserviceprotocols')));
                set_config('webserviceprotocols', implode(',', array_unique(array_merge($protocols, ['rest']))));
            }
        }
    }

    /**
     * Return the service user, creating it (or waking it up) when needed.
     *
     * It authenticates with "webservice": it cannot log in through the login page, and the site
     * policy is not asked of it.
     *
     * @return stdClass The user record.
     */
    public static function ensure_service_user(): stdClass {
        global $CFG, $DB;

        $userid = (int) connection::get('serviceuserid', 0);
        $user = $userid ? $DB->get_record('user', ['id' => $userid, 'deleted' => 0]) : false;
        if ($user) {
            if ($user->suspended || $user->auth !== 'webservice') {
                $user->suspended = 0;
                $user->auth = 'webservice';
                user_update_user($user, false);
            }
            return $DB->get_record('user', ['id' => $user->id], '*', MUST_EXIST);
        }

        $username = self::USERNAME;
        for ($n = 2; $DB->record_exists('user', ['username' => $username, 'mnethostid' => $CFG->mnet_localhost_id]); $n++) {
            $username = self::USERNAME . $n;
        }
        $host = parse_url($CFG->wwwroot, PHP_URL_HOST) ?: 'localhost';
        $userid = user_create_user((object) [
            'username' => $username,
            'auth' => 'webservice',
            'confirmed' => 1,
            'mnethostid' => $CFG->mnet_localhost_id,
            'firstname' => 'Circolo',
            'lastname' => get_string('serviceuserlastname', 'local_circolo'),
            'email' => !empty($CFG->noreplyaddress) ? $CFG->noreplyaddress : 'noreply@' . $host,
            'emailstop' => 1,
            'lang' => $CFG->lang,
            'description' => get_string('serviceuserdescription', 'local_circolo'),
        ], false);
        connection::set('serviceuserid', $userid);
        return $DB->get_record('user', ['id' => $userid], '*', MUST_EXIST);
    }

    /**
     * Return the id of the service user's system role, created and given its capabilities.
     *
     * @param int $userid The service user.
     * @return int The role id.
     */
    public static function ensure_role(int $userid): int {
        global $DB;

        $system = context_system::instance();
        $roleid = (int) $DB->get_field('role', 'id', ['shortname' => self::ROLE]);
        if (!$roleid) {
            $roleid = create_role(get_string('rolename', 'local_circolo'), self::ROLE,
                get_string('roledescription', 'local_circolo'));
        }
        set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
        foreach (self::CAPABILITIES as $capability) {
            if (get_capability_info($capability)) {
                assign_capability($capability, CAP_ALLOW, $roleid, $system->id, true);
            }
        }
        if (!user_has_role_assignment($userid, $roleid, $system->id)) {
            role_assign($roleid, $userid, $system->id);
        }
        connection::set('roleid', $roleid);
        return $roleid;
    }

    /**
     * Return the plugin's external service, enabled and with the service user authorised.
     *
     * @param int $userid The service user.
     * @return stdClass The external_services record.
     */
    public static function ensure_service(int $userid): stdClass {
        global $DB;

        $service = $DB->get_record('external_services', ['shortname' => connection::SERVICE], '*', MUST_EXIST);
        if (!$service->enabled) {
            $service->enabled = 1;
            $service->timemodified = time();
            $DB->update_record('external_services', $service);
        }
        $webservice = new \webservice();
        if (!$webservice->get_ws_authorised_user($service->id, $userid)) {
            $webservice->add_ws_authorised_user((object) [
                'externalserviceid' => $service->id,
                'userid' => $userid,
                'timecreated' => time(),
            ]);
        }
        return $service;
    }

    /**
     * Register Circolo as an LTI 1.3 tool, active and in the activity chooser of every course.
     *
     * The tool description is the one Circolo sends in LTI dynamic registration, turned into a
     * tool configuration by mod_lti's own code for it.
     *
     * @param array $registration Circolo's OpenID Connect client registration.
     * @return stdClass The lti_types record.
     */
    public static function ensure_lti_tool(array $registration): stdClass {
        global $DB;

        $helper = \mod_lti\local\ltiopenid\registration_helper::get();
        $typeid = (int) connection::get('ltitypeid', 0);
        $existing = $typeid ? $DB->get_record('lti_types', ['id' => $typeid]) : false;
        $clientid = $existing && $existing->clientid ? $existing->clientid : $helper->new_clientid();
        try {
            $config = $helper->registration_to_config($registration, $clientid);
        } catch (\mod_lti\local\ltiopenid\registration_exception $e) {
            throw new moodle_exception('circoloanswer', 'local_circolo', '', null, 'registration: ' . $e->getMessage());
        }
        // What dynamic registration leaves for an administrator to do by hand: activate the tool
        // and show it in the activity chooser.
        $config->lti_coursevisible = LTI_COURSEVISIBLE_ACTIVITYCHOOSER;
        $type = new stdClass();
        $type->state = LTI_TOOL_STATE_CONFIGURED;
        if ($existing) {
            $type->id = $existing->id;
            lti_update_type($type, $config);
            $typeid = $existing->id;
        } else {
            $typeid = lti_add_type($type, $config);
        }
        $record = $DB->get_record('lti_types', ['id' => $typeid], '*', MUST_EXIST);
        connection::set('ltitypeid', $record->id);
        connection::set('tooldomain', $record->tooldomain);
        return $record;
    }

    /**
     * Return the plugin's release as its version.php declares it.
     *
     * @return string
     */
    private static function plugin_release(): string {
        $info = \core_plugin_manager::instance()->get_plugin_info('local_circolo');
        return $info && $info->release ? (string) $info->release : '';
    }

    /**
     * Return $url if it lies under Circolo's base URL, else throw.
     *
     * Circolo names its own endpoints; the plugin never sends the token or events elsewhere.
     *
     * @param string $base Circolo's base URL.
     * @param string $url An address Circolo gave.
     * @return string
     */
    private static function same_origin_url(string $base, string $url): string {
        if ($url === '' || strpos($url, $base . '/') !== 0) {
            throw new moodle_exception('circoloanswer', 'local_circolo', '', null, "address outside {$base}: {$url}");
        }
        return $url;
    }

    /**
     * Return the exception that tells IT why Circolo refused to connect.
     *
     * @param int $status Circolo's HTTP status.
     * @param array|null $answer Its JSON answer.
     * @return moodle_exception
     */
    private static function refusal(int $status, ?array $answer): moodle_exception {
        $code = clean_param($answer['error']['code'] ?? '', PARAM_ALPHANUMEXT);
        $message = clean_param($answer['error']['message'] ?? '', PARAM_TEXT);
        $known = ['invite_invalid', 'invite_expired', 'invite_used', 'token_refused', 'site_mismatch'];
        if (in_array($code, $known, true)) {
            return new moodle_exception('refused_' . $code, 'local_circolo', '', $message, "HTTP {$status}");
        }
        return new moodle_exception('refused', 'local_circolo', '', (object) ['status' => $status,
            'message' => $message ?: get_string('noanswer', 'local_circolo')], "HTTP {$status} {$code}");
    }
}
