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
 * Upgrade steps of the Circolo companion plugin.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Upgrade the plugin from an older version.
 *
 * Version 2026120100 is the first release: db/install.xml creates its tables. A later schema
 * change adds its step here, guarded by `if ($oldversion < NEWVERSION)` and ending with
 * upgrade_plugin_savepoint(true, NEWVERSION, 'local', 'circolo'), and describes the same
 * schema in db/install.xml.
 *
 * @param int $oldversion The version installed before.
 * @return bool
 */
function xmldb_local_circolo_upgrade($oldversion) {
    return true;
}
