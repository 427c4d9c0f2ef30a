// Helpers shared by the portal pages: a Portal API call through the
// same-origin /api/ proxy, and the page's error and result messages.
'use strict';

/** Posts JSON to the Portal API; returns {ok, status, data} or throws on a network failure. */
async function postPortal(path, body) {
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(`The developer portal could not be reached (${err.message}); try again later.`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

/** Returns the server's message, or names the HTTP status when the body has none. */
function serverMessage(result) {
  if (result.data && typeof result.data.message === 'string') {
    return result.data.message;
  }
  return `The developer portal returned HTTP ${result.status}; try again later.`;
}

/** Checks the form's fields with the browser's constraints and reports the first invalid one. */
function checkFields(form) {
  for (const field of form.elements) {
    if (field.willValidate && !field.checkValidity()) {
      const label = form.querySelector(`label[for="${field.id}"]`);
      showError(`${label ? label.textContent : field.name}: ${field.validationMessage}`);
      field.focus();
      return false;
    }
  }
  return true;
}

function showError(message) {
  document.getElementById('error').textContent = message;
}

function showResult(...nodes) {
  const result = document.getElementById('result');
  result.replaceChildren(...nodes);
  result.focus();
}

function clearMessages() {
  document.getElementById('error').textContent = '';
  document.getElementById('result').replaceChildren();
}

/** Disables the form's submit button while `work` runs. */
async function whileBusy(form, work) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await work();
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
  }
}
