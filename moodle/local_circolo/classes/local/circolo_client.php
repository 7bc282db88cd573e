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

use moodle_exception;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/filelib.php');

/**
 * The one place the plugin talks to Circolo: JSON over HTTPS with deadlines, signed events.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class circolo_client {

    /** Seconds to open the connection to Circolo. */
    const CONNECT_TIMEOUT = 5;

    /** Seconds for a whole request: Circolo checks the token back with Moodle during Connect. */
    const TIMEOUT = 30;

    /** Seconds for an event call: Circolo only queues work, and a late call is retried anyway. */
    const EVENT_TIMEOUT = 10;

    /** The header carrying the signature, hex HMAC-SHA256 prefixed with the algorithm. */
    const SIGNATURE_HEADER = 'X-Circolo-Signature';

    /** The header carrying the Unix time the signature was made at. */
    const TIMESTAMP_HEADER = 'X-Circolo-Timestamp';

    /** The header naming the connection whose secret signed the call. */
    const KEY_HEADER = 'X-Circolo-Key';

    /**
     * Return Circolo's base URL cleaned up, or throw when it may not be used.
     *
     * Only https is accepted, except for a Circolo on the loopback interface (tests and
     * development), which may use http.
     *
     * @param string $url What IT typed.
     * @return string The URL without a trailing slash.
     * @throws moodle_exception invalidcircolourl
     */
    public static function clean_base_url(string $url): string {
        $url = rtrim(trim($url), '/');
        $parts = parse_url($url);
        if ($parts === false || empty($parts['scheme']) || empty($parts['host'])
                || isset($parts['query']) || isset($parts['fragment']) || isset($parts['user'])) {
            throw new moodle_exception('invalidcircolourl', 'local_circolo');
        }
        $scheme = strtolower($parts['scheme']);
        $host = strtolower(trim($parts['host'], '[]'));
        $loopback = in_array($host, ['localhost', '::1'], true) || preg_match('/^127(\.\d{1,3}){3}$/', $host);
        if ($scheme !== 'https' && !($scheme === 'http' && $loopback)) {
            throw new moodle_exception('invalidcircolourl', 'local_circolo');
        }
        return $url;
    }

    /**
     * Return the signature of an event call: HMAC-SHA256 of "timestamp.body" with the secret.
     *
     * @param string $secret The connection's secret.
     * @param int $timestamp Unix time of the call.
     * @param string $body The exact request body.
     * @return string "sha256=" followed by the lowercase hex digest.
     */
    public static function signature(string $secret, int $timestamp, string $body): string {
        return 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    }

    /**
     * GET a JSON document from Circolo.
     *
     * @param string $url The address.
     * @return array The decoded JSON object.
     * @throws moodle_exception circolounreachable or circoloanswer
     */
    public static function get_json(string $url): array {
        $curl = new \curl();
        $curl->setHeader(['Accept: application/json']);
        $raw = $curl->get($url, [], self::options(self::TIMEOUT));
        [$status, $json] = self::answer($curl, $raw, $url);
        if ($status !== 200 || $json === null) {
            throw new moodle_exception('circoloanswer', 'local_circolo', '', null, "GET {$url}: HTTP {$status}");
        }
        return $json;
    }

    /**
     * POST a JSON body to Circolo and return the status and the decoded answer.
     *
     * @param string $url The address.
     * @param string $body The JSON body, already encoded (it is what a signature covers).
     * @param array $headers Extra headers ("Name: value").
     * @param int $timeout Seconds for the whole request.
     * @return array [int HTTP status, array|null decoded JSON object]
     * @throws moodle_exception circolounreachable when no answer came back
     */
    public static function post_json(string $url, string $body, array $headers = [], int $timeout = self::TIMEOUT): array {
        $curl = new \curl();
        $curl->setHeader(array_merge(['Content-Type: application/json', 'Accept: application/json'], $headers));
        $raw = $curl->post($url, $body, self::options($timeout));
        return self::answer($curl, $raw, $url);
    }

    /**
     * POST a signed event to Circolo's events address.
     *
     * @param string $url The events address Circolo gave at Connect.
     * @param string $keyid The connection's key id.
     * @param string $secret The connection's secret.
     * @param array $event The event (see README.md, "Events").
     * @return array [int HTTP status, array|null decoded JSON object]
     */
    public static function post_event(string $url, string $keyid, string $secret, array $event): array {
        $body = json_encode($event, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $timestamp = time();
        $headers = [
            self::KEY_HEADER . ': ' . $keyid,
            self::TIMESTAMP_HEADER . ': ' . $timestamp,
            self::SIGNATURE_HEADER . ': ' . self::signature($secret, $timestamp, $body),
        ];
        return self::post_json($url, $body, $headers, self::EVENT_TIMEOUT);
    }

    /**
     * The cURL options every call uses: deadlines, no redirects (a signed body is not re-sent).
     *
     * @param int $timeout Seconds for the whole request.
     * @return array
     */
    private static function options(int $timeout): array {
        return [
            'CURLOPT_CONNECTTIMEOUT' => self::CONNECT_TIMEOUT,
            'CURLOPT_TIMEOUT' => $timeout,
            'CURLOPT_FOLLOWLOCATION' => false,
        ];
    }

    /**
     * Turn a cURL result into [status, decoded JSON object or null].
     *
     * @param \curl $curl The client that made the request.
     * @param mixed $raw What it returned.
     * @param string $url The address, for the error message.
     * @return array
     * @throws moodle_exception circolounreachable when nothing came back
     */
    private static function answer(\curl $curl, $raw, string $url): array {
        $info = $curl->get_info();
        $status = (int) ($info['http_code'] ?? 0);
        if ($status === 0) {
            // Blocked by Moodle's cURL security settings, refused, timed out, or a TLS failure.
            $why = $curl->error ?: (is_string($raw) ? $raw : 'no answer');
            throw new moodle_exception('circolounreachable', 'local_circolo', '', s($why), "{$url}: {$why}");
        }
        $json = is_string($raw) ? json_decode($raw, true) : null;
        return [$status, is_array($json) ? $json : null];
    }
}
