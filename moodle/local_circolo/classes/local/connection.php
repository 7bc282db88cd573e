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

/**
 * The site's connection to Circolo, kept in the plugin's configuration.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class connection {

    /** The plugin's component name, under which its configuration is stored. */
    const COMPONENT = 'local_circolo';

    /** The shortname of the external service declared in db/services.php. */
    const SERVICE = 'local_circolo';

    /**
     * Return one setting of the connection.
     *
     * @param string $name The setting's name.
     * @param mixed $default What to return when it is not set.
     * @return mixed
     */
    public static function get(string $name, $default = '') {
        $value = get_config(self::COMPONENT, $name);
        return ($value === false || $value === null) ? $default : $value;
    }

    /**
     * Store one setting of the connection.
     *
     * @param string $name The setting's name.
     * @param mixed $value Its value (null removes it).
     */
    public static function set(string $name, $value): void {
        if ($value === null) {
            unset_config($name, self::COMPONENT);
        } else {
            set_config($name, $value, self::COMPONENT);
        }
    }

    /**
     * Tell whether Circolo accepted this site's connection (and events can be sent).
     *
     * @return bool
     */
    public static function is_connected(): bool {
        return self::get('secret') !== '' && self::get('eventsurl') !== '' && self::get('keyid') !== '';
    }

    /**
     * Forget the connection's secret so no more events are sent (the rest is kept for display).
     */
    public static function forget(): void {
        foreach (['secret', 'keyid', 'eventsurl', 'connectedat'] as $name) {
            self::set($name, null);
        }
    }

    /**
     * Tell whether a course holds an activity of Circolo's LTI tool, i.e. Circolo is active there.
     *
     * @param int $courseid The course.
     * @return bool
     */
    public static function course_uses_circolo(int $courseid): bool {
        global $DB;
        $typeid = (int) self::get('ltitypeid', 0);
        $domain = (string) self::get('tooldomain', '');
        if (!$typeid && $domain === '') {
            return false;
        }
        // The activity is either of the tool the plugin registered or of another registration of
        // the same Circolo (a site that registered it by hand before installing the plugin).
        $sql = "SELECT 1
                  FROM {lti} l
             LEFT JOIN {lti_types} t ON t.id = l.typeid
                 WHERE l.course = :courseid
                   AND (l.typeid = :typeid OR t.tooldomain = :domain)";
        return $DB->record_exists_sql($sql, ['courseid' => $courseid, 'typeid' => $typeid, 'domain' => $domain]);
    }
}
