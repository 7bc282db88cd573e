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
 * Version information for the Circolo companion plugin.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$plugin->component = 'local_circolo';
$plugin->version = 2026120100;
$plugin->release = '1.0.0';
$plugin->maturity = MATURITY_STABLE;
// Moodle 4.1 LTS (2022112800) is the oldest release the plugin runs on; 4.5 the newest tested.
$plugin->requires = 2022112800;
$plugin->supported = [401, 405];
$plugin->dependencies = [
    'mod_lti' => ANY_VERSION,
    'mod_forum' => ANY_VERSION,
];
