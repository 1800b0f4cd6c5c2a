/* The demo landing page: lead forms, sign-up and sign-in against the site API (site-api.md). */
(function () {
  "use strict";

  var API = "/api/v1";
  var TEXT = {
    leadDone: "Спасибо за заявку! Мы свяжемся с вами в течение 24 часов.",
    leadRate: "Вы уже отправили заявку. Мы обязательно свяжемся с вами!",
    userExists: "Пользователь с таким email уже зарегистрирован. Войдите в личный кабинет.",
    registered: "Регистрация прошла успешно! Мы отправили письмо для подтверждения email.",
    loggedIn: "Вы вошли в систему. На рабочем сайте здесь откроется личный кабинет.",
    rate: "Слишком много запросов. Попробуйте позже.",
    network: "Ошибка сети. Проверьте подключение.",
    failed: "Не удалось отправить форму. Попробуйте позже.",
  };

  function post(path, body) {
    return fetch(API + path, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Accept-Language": "ru",
      },
      body: JSON.stringify(body),
    });
  }

  function serverMessage(response, fallback) {
    return response
      .json()
      .then(function (body) {
        var message = body && body.error && body.error.message;
        return typeof message === "string" && message ? message : fallback;
      })
      .catch(function () {
        return fallback;
      });
  }

  /** The form's non-empty fields (empty ones are left out, as "not given"); passwords as typed. */
  function fields(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.disabled) return;
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      var value = input.type === "password" ? input.value : input.value.trim();
      if (value) body[input.name] = value;
    });
    return body;
  }

  function show(form, ok, text) {
    var status = form.querySelector(".status");
    status.className = "status " + (ok ? "ok" : "bad");
    status.setAttribute("role", ok ? "status" : "alert");
    status.textContent = text;
  }

  /**
   * Sends the form with `send(body)`; `outcome(response)` resolves to [ok, text] for a response.
   * While a request is in flight the submit button is disabled.
   */
  function handle(form, send, outcome) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      show(form, true, "");
      send(fields(form))
        .then(outcome)
        .catch(function () {
          return [false, TEXT.network];
        })
        .then(function (result) {
          show(form, result[0], result[1]);
          if (result[0] && result[2] !== false) form.reset();
        })
        .then(function () {
          button.disabled = false;
          form.removeAttribute("aria-busy");
        });
    });
  }

  function otherwise(response) {
    if (response.status === 429) return serverMessage(response, TEXT.rate).then(bad);
    return serverMessage(response, TEXT.failed).then(bad);
  }

  function bad(text) {
    return [false, text];
  }

  document.querySelectorAll("form[data-lead]").forEach(function (form) {
    var type = form.getAttribute("data-lead");
    handle(
      form,
      function (body) {
        body.request_type = type;
        return post("/plan-requests/", body);
      },
      function (response) {
        if (response.status === 201) return [true, TEXT.leadDone];
        if (response.status === 429) return [false, TEXT.leadRate];
        return otherwise(response);
      }
    );
  });

  var register = document.querySelector("form[data-auth=register]");
  handle(
    register,
    function (body) {
      return post("/auth/register", body);
    },
    function (response) {
      if (response.status === 201) return [true, TEXT.registered];
      if (response.status === 409) return [false, TEXT.userExists];
      return otherwise(response);
    }
  );

  var login = document.querySelector("form[data-auth=login]");
  handle(
    login,
    function (body) {
      return post("/auth/login", { email: body.email || "", password: body.password || "" });
    },
    function (response) {
      // The tokens stay in this page's memory only: the demo has no cabinet to hand them to.
      if (response.ok) return [true, TEXT.loggedIn, false];
      return otherwise(response);
    }
  );
})();
