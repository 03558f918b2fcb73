// Remembers the nickname between the lobby and the rooms (the chat page stores it too).
(function () {
  'use strict';
  var input = document.getElementById('name-input');
  if (!input) return;
  try {
    input.value = localStorage.getItem('chat:name') || '';
    input.form.addEventListener('submit', function () {
      localStorage.setItem('chat:name', input.value.trim());
    });
  } catch (e) {
    // Storage can be disabled; the form still works.
  }
})();
