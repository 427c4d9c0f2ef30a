// The registration page: sends email, full name and password to the Portal
// API and shows the developer whether access was granted or awaits approval.
'use strict';

const form = document.getElementById('register-form');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMessages();
  if (!checkFields(form)) {
    return;
  }
  whileBusy(form, async () => {
    const result = await postPortal('/register', {
      email: form.elements.email.value.trim(),
      password: form.elements.password.value,
      meta: { full_name: form.elements.full_name.value.trim() },
    });
    if (!result.ok) {
      showError(serverMessage(result));
      return;
    }
    const developer = result.data.developer;
    const message = document.createElement('p');
    if (developer.status_label === 'approved') {
      message.textContent = `Welcome, ${developer.full_name}: your access is granted and you can log in now as ${developer.email}.`;
      const login = document.createElement('a');
      login.href = '/login';
      login.textContent = 'Log in';
      showResult(message, login);
    } else {
      message.textContent = `Thank you, ${developer.full_name}: your registration as ${developer.email} awaits approval by an administrator. You can log in once it is approved.`;
      showResult(message);
    }
    form.reset();
  });
});
