// The portal's only script: pending purchases appear while the merchant waits. The server
// sends each change of the list as already-escaped HTML (server-sent events); without
// script the page still works, it just needs a reload.
'use strict';
(function () {
  var list = document.getElementById('pending');
  if (!list || typeof EventSource === 'undefined') return;
  var status = document.getElementById('pending-status');
  var source = new EventSource(list.getAttribute('data-events'));
  source.addEventListener('pending', function (event) {
    var data = JSON.parse(event.data);
    var focused = document.activeElement && list.contains(document.activeElement);
    list.innerHTML = data.html;
    if (status) status.textContent = data.announce;
    if (focused) {
      var first = list.querySelector('button');
      if (first) first.focus();
    }
  });
})();
