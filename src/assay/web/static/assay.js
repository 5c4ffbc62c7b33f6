// assay: helpers every page may use. Plain JS, no framework, no build step.
"use strict";

window.assay = (function () {
  const SAFE_METHODS = ["GET", "HEAD", "OPTIONS"];

  // The session's CSRF token, from <meta name="csrf-token"> in base.html.
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Call the JSON API with the session cookie. Unsafe methods send X-CSRFToken, which the
  // API's cookie login requires. Resolves to the parsed body (null for 204); rejects with an
  // Error whose message is the API's "detail" and whose .status is the HTTP status.
  async function api(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (!SAFE_METHODS.includes(method)) init.headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.detail) || response.statusText);
      error.status = response.status;
      error.body = data;
      throw error;
    }
    return data;
  }

  return { csrfToken, api };
})();
