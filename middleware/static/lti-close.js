// Tell the platform that opened the registration page that it is done (LTI Dynamic
// Registration): Moodle then closes its dialog and lists the new tool.
(function () {
  var script = document.currentScript;
  var targetOrigin = (script && script.dataset.targetOrigin) || "*";
  var opener = window.opener || (window.parent !== window ? window.parent : null);
  if (opener) {
    opener.postMessage({ subject: "org.imsglobal.lti.close" }, targetOrigin);
  }
})();
