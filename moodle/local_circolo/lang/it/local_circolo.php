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
 * Italian strings of the Circolo companion plugin.
 *
 * @package    local_circolo
 * @category   string
 * @copyright  2026 Circolo maintainers
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['circolo:deliverprompts'] = 'Inviare i suggerimenti di Circolo come notifiche';
$string['circolo:readchanges'] = 'Leggere per Circolo che cosa è cambiato in un corso';
$string['circoloanswer'] = 'Circolo ha risposto in un modo che il plugin non sa usare. Controlla l\'indirizzo e riprova.';
$string['circolounreachable'] = 'Moodle non è riuscito a raggiungere Circolo: {$a}. Controlla l\'indirizzo; se Circolo è su questa rete, controlla Amministrazione del sito > Generale > Sicurezza > Sicurezza HTTP (host bloccati e porte consentite).';
$string['circolourl'] = 'Indirizzo di Circolo';
$string['circolourl_help'] = 'L\'indirizzo a cui risponde Circolo, per esempio https://circolo.example.org. Deve usare https.';
$string['code'] = 'Codice monouso';
$string['code_help'] = 'Esegui <code>flask circolo moodle invite</code> dove è installato Circolo: stampa un codice che vale una sola volta, per un tempo limitato.';
$string['connect'] = 'Collega';
$string['connectedmessage'] = 'Moodle è collegato a Circolo. Ora i docenti possono aggiungere Circolo dal selettore delle attività.';
$string['connectedsince'] = 'Collegato dal {$a}';
$string['connectfailed'] = 'Il collegamento non è riuscito: {$a}';
$string['connectheading'] = 'Collega a Circolo';
$string['connecthelp'] = 'Collega abilita i web service e REST, crea l\'utente di servizio di Circolo con il suo ruolo e il suo token, registra Circolo come strumento LTI 1.3 visibile nel selettore delle attività e consegna a Circolo, via https, ciò che gli serve. Premerlo di nuovo con un nuovo codice ripara la configurazione.';
$string['disconnect'] = 'Scollega';
$string['disconnected'] = 'Moodle non invia più eventi a Circolo e il token di Circolo è stato eliminato. Lo strumento LTI e l\'utente di servizio sono stati mantenuti.';
$string['eventrefused'] = 'Circolo non ha accettato l\'evento.';
$string['intro'] = 'Circolo cura la comunità dei forum dei tuoi corsi: legge chi parla con chi, mostra ai docenti come sta la comunità e manda a chi studia suggerimenti di tutoraggio tra pari come notifiche di Moodle.';
$string['invalidcircolourl'] = 'Indica l\'indirizzo https di Circolo, senza parametri né ancore (http è accettato solo per un Circolo su questa macchina).';
$string['lastevent'] = 'Ultimo evento inviato';
$string['lasteventwhen'] = '{$a->time}: {$a->outcome}';
$string['messageprovider:prompt'] = 'Suggerimenti di tutoraggio tra pari da Circolo';
$string['noanswer'] = 'nessuna spiegazione';
$string['notconnected'] = 'Non collegato';
$string['pluginname'] = 'Circolo';
$string['privacy:metadata:circolo'] = 'Circolo, lo strumento di gestione della comunità a cui questo sito è collegato, legge tramite il plugin i forum e gli iscritti dei corsi e riceve avviso delle modifiche.';
$string['privacy:metadata:circolo:email'] = 'L\'indirizzo e-mail di ogni partecipante.';
$string['privacy:metadata:circolo:enrolment'] = 'L\'iscrizione, i ruoli e i gruppi di ogni partecipante nel corso.';
$string['privacy:metadata:circolo:fullname'] = 'Il nome completo di ogni partecipante e di chi ha scritto i messaggi.';
$string['privacy:metadata:circolo:lang'] = 'La lingua preferita di ogni partecipante, per scrivere i suggerimenti in quella lingua.';
$string['privacy:metadata:circolo:lastcourseaccess'] = 'L\'ultimo accesso di ogni partecipante al corso.';
$string['privacy:metadata:circolo:posts'] = 'I messaggi dei forum: oggetto, testo, autore, date e se sono risposte private.';
$string['privacy:metadata:circolo:timezone'] = 'Il fuso orario di ogni partecipante, per non mandare suggerimenti di notte.';
$string['privacy:metadata:circolo:userid'] = 'L\'id utente di Moodle, inviato anche quando un utente viene eliminato perché Circolo lo dimentichi.';
$string['privacy:metadata:core_message'] = 'I suggerimenti di Circolo arrivano come notifiche di Moodle.';
$string['privacy:metadata:deliveries'] = 'I suggerimenti consegnati a una persona, perché nessuno venga consegnato due volte.';
$string['privacy:metadata:deliveries:courseid'] = 'Il corso a cui si riferiva il suggerimento.';
$string['privacy:metadata:deliveries:notificationid'] = 'La notifica creata da Moodle.';
$string['privacy:metadata:deliveries:reference'] = 'Il riferimento di Circolo al suggerimento.';
$string['privacy:metadata:deliveries:status'] = 'Se è stato consegnato, o conservato senza avvisi per le preferenze della persona.';
$string['privacy:metadata:deliveries:timecreated'] = 'Quando è stato consegnato.';
$string['privacy:metadata:deliveries:userid'] = 'La persona a cui è stato consegnato.';
$string['privacy:metadata:tombstones'] = 'Ciò che è stato eliminato in un corso (messaggi, discussioni, iscrizioni, ruoli) o nel sito (utenti), conservato 90 giorni perché Circolo elimini anche la sua copia.';
$string['privacy:metadata:tombstones:courseid'] = 'Il corso.';
$string['privacy:metadata:tombstones:itemid'] = 'L\'id di ciò che è stato eliminato.';
$string['privacy:metadata:tombstones:itemtype'] = 'Il tipo di ciò che è stato eliminato.';
$string['privacy:metadata:tombstones:timecreated'] = 'Quando è stato eliminato.';
$string['privacy:metadata:tombstones:userid'] = 'La persona interessata: chi ha scritto il messaggio, chi è stato disiscritto, l\'utente eliminato.';
$string['promptlink'] = 'Apri la discussione';
$string['promptsubject'] = 'Un suggerimento di Circolo in {$a}';
$string['reconnect'] = 'Collega di nuovo';
$string['refused'] = 'Circolo ha rifiutato il collegamento (HTTP {$a->status}): {$a->message}';
$string['refused_invite_expired'] = 'Il codice monouso è scaduto. Esegui di nuovo flask circolo moodle invite e usa il nuovo codice.';
$string['refused_invite_invalid'] = 'Circolo non riconosce questo codice monouso. Controlla di averlo copiato per intero, oppure esegui di nuovo flask circolo moodle invite.';
$string['refused_invite_used'] = 'Questo codice monouso è già stato usato. Esegui di nuovo flask circolo moodle invite e usa il nuovo codice.';
$string['refused_site_mismatch'] = 'Circolo ha raggiunto un sito Moodle diverso da questo: {$a}. Controlla l\'indirizzo di questo sito (wwwroot) come lo vede Circolo.';
$string['refused_token_refused'] = 'Circolo non è riuscito a usare il token ricevuto: {$a}. Controlla che Circolo possa raggiungere i web service di questo sito.';
$string['roledescription'] = 'Assegnato dal plugin Circolo all\'utente di servizio di Circolo, a livello di sistema: esattamente le capacità che servono alle chiamate di Circolo.';
$string['rolename'] = 'Servizio Circolo';
$string['sendfailed'] = 'Moodle non è riuscito a inviare la notifica.';
$string['serviceuser'] = 'Utente di servizio';
$string['serviceuserdescription'] = 'L\'utente di servizio di Circolo, creato dal plugin Circolo. Accede solo con il suo token dei web service.';
$string['serviceuserlastname'] = 'servizio';
$string['state'] = 'Stato';
$string['tasknotifycircolo'] = 'Avvisare Circolo che un corso è cambiato';
$string['taskpurgerecords'] = 'Eliminare le vecchie registrazioni di consegna e di eliminazione di Circolo';
$string['tool'] = 'Strumento LTI';
$string['toolactive'] = 'attivo';
$string['tooldeployment'] = 'client id {$a->clientid}, deployment {$a->deploymentid}';
$string['toolinchooser'] = 'visibile nel selettore delle attività';
$string['toolnotactive'] = 'non attivo';
$string['toolnotinchooser'] = 'non visibile nel selettore delle attività';
