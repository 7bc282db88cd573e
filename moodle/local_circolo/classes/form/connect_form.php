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

namespace local_circolo\form;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/formslib.php');

/**
 * The Connect form: Circolo's address and IT's one-time code.
 *
 * @package    local_circolo
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class connect_form extends \moodleform {

    /**
     * Define the fields.
     */
    protected function definition() {
        $mform = $this->_form;
        $mform->addElement('text', 'circolourl', get_string('circolourl', 'local_circolo'), ['size' => 60]);
        $mform->setType('circolourl', PARAM_URL);
        $mform->addRule('circolourl', null, 'required', null, 'client');
        $mform->addHelpButton('circolourl', 'circolourl', 'local_circolo');

        $mform->addElement('text', 'code', get_string('code', 'local_circolo'), ['size' => 30, 'autocomplete' => 'off']);
        $mform->setType('code', PARAM_ALPHANUMEXT);
        $mform->addRule('code', null, 'required', null, 'client');
        $mform->addHelpButton('code', 'code', 'local_circolo');

        $this->add_action_buttons(false, get_string('connect', 'local_circolo'));
    }

    /**
     * Check the address before anything is set up.
     *
     * @param array $data The submitted values.
     * @param array $files Uploaded files (none).
     * @return array Errors by field.
     */
    public function validation($data, $files) {
        $errors = parent::validation($data, $files);
        try {
            \local_circolo\local\circolo_client::clean_base_url($data['circolourl'] ?? '');
        } catch (\moodle_exception $e) {
            $errors['circolourl'] = $e->getMessage();
        }
        if (trim($data['code'] ?? '') === '') {
            $errors['code'] = get_string('required');
        }
        return $errors;
    }
}
