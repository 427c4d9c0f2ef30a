// The login page: checks the developer's credentials with the Portal API and
// shows the server's message when the login is rejected.
'use strict';

const form = document.getElementById('login-form');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  if (!checkFields(form)) {
    return;
  }
  whileBusy(form, async () => {
    const result = await postPortal('/login', {
      email: form.elements.email.value.trim(),
      password: form.elements.password.value,
    });
    if (!result.ok) {
      // A requested, rejected or revoked developer gets a 401 whose message
      // names the status and what to do next.
      showError(serverMessage(result));
      return;
    }
    const developer = result.data.developer;
    const message = document.createElement('p');
    message.textContent = `You are logged in as ${developer.email}. Welcome, ${developer.full_name}.`;
    showResult(message);
    form.elements.password.value = '';
  });
});
