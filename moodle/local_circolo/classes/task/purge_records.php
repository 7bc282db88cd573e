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

namespace local_circolo\task;

use local_circolo\local\course_changes;

/**
 * Scheduled task: drop tombstones and delivery records nobody needs any more.
 *
 * Circolo reads tombstones within hours and retries a delivery for at most a few hours; both
 * are kept 90 days so that a Circolo that was down for a while still finds them.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class purge_records extends \core\task\scheduled_task {

    /**
     * Return the task's name.
     *
     * @return string
     */
    public function get_name(): string {
        return get_string('taskpurgerecords', 'local_circolo');
    }

    /**
     * Delete what is older than the retention.
     */
    public function execute() {
        global $DB;
        $before = time() - course_changes::TOMBSTONE_DAYS * DAYSECS;
        $DB->delete_records_select('local_circolo_tombstones', 'timecreated < :before', ['before' => $before]);
        $DB->delete_records_select('local_circolo_deliveries', 'timecreated < :before', ['before' => $before]);
    }
}
