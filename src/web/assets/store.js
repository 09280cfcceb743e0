// The demo store's only script: while an order waits for the subscriber (or for its goods
// to go over the secure channel), ask the store every second and show the new state when
// it changes.
'use strict';
(function () {
  var box = document.getElementById('order-status');
  if (!box || !box.getAttribute('data-poll')) return;
  var url = box.getAttribute('data-poll');
  var current = box.getAttribute('data-state');
  var timer = window.setInterval(function () {
    window.fetch(url, { headers: { accept: 'application/json' } }).then(function (r) { return r.json(); }).then(function (state) {
      if (state.state !== current) {
        window.clearInterval(timer);
        window.location.reload();
      } else if (!state.poll) {
        window.clearInterval(timer);
      }
    }).catch(function () {});
  }, 1000);
})();
