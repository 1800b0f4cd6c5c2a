/*!
 * Parmenid chat widget. One file, no dependencies.
 *
 *   <script src="https://api.parmenid.tech/widget.js" data-avatar-id="AVATAR-UUID" defer></script>
 *
 * Optional attributes:
 *   data-api-base  where the API lives (default: the origin this script was loaded from);
 *                  "https://host" and "https://host/api/v1" are both accepted
 *   data-lang      "ru" (default) or "en": the widget's texts and the server's error messages
 *
 * The conversation survives reloads: the session id is kept in localStorage per avatar and the
 * history is restored from the server. Everything the server sends is inserted as text.
 */
(function () {
  "use strict";

  var TEXTS = {
    ru: {
      open: "Открыть чат",
      close: "Закрыть чат",
      input: "Ваш вопрос",
      placeholder: "Напишите вопрос…",
      send: "Отправить сообщение",
      sources: "Источники",
      more: "Показать ещё",
      typing: "Печатает ответ…",
      network: "Ошибка сети. Проверьте подключение.",
      rate: "Слишком много запросов. Попробуйте позже.",
      failed: "Не удалось получить ответ. Попробуйте ещё раз.",
      leadTitle: "Оставьте email или Telegram — мы свяжемся с вами.",
      leadLabel: "Email или Telegram",
      leadPlaceholder: "you@company.com или @username",
      leadSend: "Отправить",
      leadDone: "Спасибо за заявку! Мы свяжемся с вами в течение 24 часов.",
      leadRate: "Вы уже отправили заявку. Мы обязательно свяжемся с вами!",
      leadEmpty: "Пожалуйста, укажите способ связи (email, телефон или Telegram)",
      you: "Вы",
      bot: "Бот",
      unavailable: "Чат временно недоступен.",
      restart: "Начать новый диалог",
    },
    en: {
      open: "Open chat",
      close: "Close chat",
      input: "Your question",
      placeholder: "Type a question…",
      send: "Send message",
      sources: "Sources",
      more: "Show more",
      typing: "Writing an answer…",
      network: "Network error. Check your connection.",
      rate: "Too many requests. Please try again later.",
      failed: "Could not get an answer. Please try again.",
      leadTitle: "Leave your e-mail or Telegram and we will contact you.",
      leadLabel: "E-mail or Telegram",
      leadPlaceholder: "you@company.com or @username",
      leadSend: "Send",
      leadDone: "Thank you! We will contact you within 24 hours.",
      leadRate: "You have already sent a request. We will definitely contact you!",
      leadEmpty: "Please give a way to contact you (e-mail, phone or Telegram).",
      you: "You",
      bot: "Bot",
      unavailable: "The chat is temporarily unavailable.",
      restart: "Start a new conversation",
    },
  };
  var SOURCES_SHOWN = 3;
  var HISTORY_POLLS = 20;

  var script =
    document.currentScript ||
    document.querySelector('script[data-avatar-id][src*="widget.js"]');
  if (!script) return;
  var avatarId = (script.getAttribute("data-avatar-id") || "").trim();
  if (!/^[0-9a-fA-F-]{36}$/.test(avatarId)) {
    console.warn("Parmenid widget: data-avatar-id is missing or not a UUID");
    return;
  }
  var registry = (window.__parmenidWidgets = window.__parmenidWidgets || {});
  if (registry[avatarId]) return;
  registry[avatarId] = true;

  var lang = script.getAttribute("data-lang") === "en" ? "en" : "ru";
  var T = TEXTS[lang];
  var api = apiBase(script) + "/chat/" + encodeURIComponent(avatarId);
  var storeKey = "parmenid-chat:" + avatarId;

  function apiBase(el) {
    var base = el.getAttribute("data-api-base");
    base = base ? new URL(base, location.href).href : new URL(el.src, location.href).origin;
    base = base.replace(/\/+$/, "");
    return /\/api\/v1$/.test(base) ? base : base + "/api/v1";
  }

  /* ---------- storage (localStorage may be unavailable: private modes, sandboxed frames) ---------- */

  function load() {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "{}") || {};
    } catch (e) {
      return {};
    }
  }
  function save(patch) {
    var state = load();
    for (var k in patch) {
      if (patch[k] === null) delete state[k];
      else state[k] = patch[k];
    }
    try {
      localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) {
      /* the conversation then lasts as long as the page */
    }
  }

  /* ---------- HTTP ---------- */

  function request(method, url, body) {
    var init = {
      method: method,
      headers: { Accept: "application/json", "Accept-Language": lang },
      credentials: "omit",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init);
  }

  function errorText(response, fallback) {
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

  /** Resolves to {ok, status, message}: message is what to show the visitor on failure. */
  function failure(response, fallback) {
    var fb = response.status === 429 ? T.rate : fallback;
    return errorText(response, fb).then(function (message) {
      return { ok: false, status: response.status, message: message };
    });
  }

  /* ---------- DOM helpers: text only, never HTML ---------- */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "className") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      }
    }
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function safeImageUrl(value) {
    if (!value) return null;
    try {
      var url = new URL(value, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function safeColor(value) {
    return /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value || "") ? value : "#3B82F6";
  }

  /** Black or white text, whichever reads better on the avatar's colour. */
  function contrastText(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return luminance > 0.4 ? "#111827" : "#ffffff";
  }

  /* ---------- SSE over fetch (the stream endpoint is a POST, so no EventSource) ---------- */

  /**
   * Reads `text/event-stream` from a fetch Response and calls onEvent(name, data) per event.
   * Frames may be split anywhere across network chunks; CRLF, CR and LF line ends all work.
   * Resolves when the stream ends.
   */
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";

    function dispatch(frame) {
      var name = "message";
      var data = [];
      frame.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.charAt(0) === " ") value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (!data.length) return;
      var parsed;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch (e) {
        parsed = { raw: data.join("\n") };
      }
      onEvent(name, parsed);
    }

    function drain(final) {
      // A "\r" at the very end may be the first half of a "\r\n" split across chunks.
      var keep = !final && buffer.charAt(buffer.length - 1) === "\r" ? "\r" : "";
      var text = (keep ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, "\n");
      var frames = text.split("\n\n");
      var rest = final ? "" : frames.pop();
      frames.forEach(dispatch);
      if (final && rest) dispatch(rest);
      buffer = rest + keep;
    }

    function pump() {
      return reader.read().then(function (step) {
        if (step.done) {
          buffer += decoder.decode();
          drain(true);
          return;
        }
        buffer += decoder.decode(step.value, { stream: true });
        drain(false);
        return pump();
      });
    }
    return pump();
  }

  /* ---------- styles ---------- */

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".pw{--pw-fg:#111827;--pw-muted:#6b7280;--pw-line:#e5e7eb;--pw-bg:#fff;--pw-soft:#f3f4f6;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;",
    "color:var(--pw-fg);position:fixed;right:20px;bottom:20px;z-index:2147483000}",
    ".pw-bubble{width:60px;height:60px;border-radius:50%;border:0;cursor:pointer;",
    "background:var(--pw-primary);color:var(--pw-on-primary);display:grid;place-items:center;",
    "box-shadow:0 8px 24px rgba(17,24,39,.22);transition:transform .15s ease}",
    ".pw-bubble:hover{transform:scale(1.05)}",
    ".pw-bubble svg{width:28px;height:28px;fill:currentColor}",
    "button:focus-visible,input:focus-visible,textarea:focus-visible{",
    "outline:3px solid var(--pw-primary);outline-offset:2px}",
    ".pw-panel{position:absolute;right:0;bottom:76px;width:380px;height:min(600px,calc(100vh - 120px));",
    "background:var(--pw-bg);border-radius:16px;box-shadow:0 16px 48px rgba(17,24,39,.25);",
    "display:flex;flex-direction:column;overflow:hidden}",
    ".pw-panel[hidden]{display:none}",
    ".pw-head{display:flex;align-items:center;gap:12px;padding:14px 16px;",
    "background:var(--pw-primary);color:var(--pw-on-primary)}",
    ".pw-head img{width:40px;height:40px;border-radius:50%;object-fit:cover;background:#fff}",
    ".pw-initial{width:40px;height:40px;border-radius:50%;display:grid;place-items:center;",
    "background:rgba(255,255,255,.25);font-weight:700;font-size:18px}",
    ".pw-title{flex:1;min-width:0}",
    ".pw-name{font-weight:650;font-size:15px;margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".pw-desc{margin:2px 0 0;font-size:12px;opacity:.85;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".pw-close{border:0;background:transparent;color:inherit;cursor:pointer;width:32px;height:32px;",
    "border-radius:8px;font-size:22px;line-height:1}",
    ".pw-close:hover{background:rgba(255,255,255,.18)}",
    ".pw-log{position:relative;flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px;background:#fafafa}",
    ".pw-msg{max-width:86%;padding:9px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word}",
    ".pw-user{align-self:flex-end;background:var(--pw-primary);color:var(--pw-on-primary);border-bottom-right-radius:4px}",
    ".pw-bot{align-self:flex-start;background:var(--pw-bg);border:1px solid var(--pw-line);border-bottom-left-radius:4px}",
    ".pw-error{align-self:stretch;max-width:none;background:#fef2f2;border:1px solid #fecaca;color:#991b1b}",
    ".pw-typing{color:var(--pw-muted);font-style:italic}",
    ".pw-sources{margin:8px 0 0;padding:8px 0 0;border-top:1px dashed var(--pw-line);white-space:normal}",
    ".pw-sources-title{font-size:12px;font-weight:600;color:var(--pw-muted);margin:0 0 4px}",
    ".pw-sources ol{margin:0;padding:0;list-style:none;display:flex;flex-direction:column;gap:6px}",
    ".pw-source{font-size:12px;background:var(--pw-soft);border-radius:8px;padding:6px 8px}",
    ".pw-source b{display:block;font-weight:600;color:var(--pw-fg)}",
    ".pw-source span{color:var(--pw-muted);display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}",
    ".pw-more{border:0;background:none;color:var(--pw-primary);cursor:pointer;font:inherit;font-size:12px;padding:2px 0;align-self:flex-start}",
    ".pw-lead{align-self:stretch;background:var(--pw-bg);border:1px solid var(--pw-line);border-radius:12px;padding:12px}",
    ".pw-lead p{margin:0 0 8px}",
    ".pw-lead label{display:block;font-size:12px;color:var(--pw-muted);margin-bottom:4px}",
    ".pw-lead-row{display:flex;flex-wrap:wrap;gap:8px}",
    ".pw-lead input{flex:1 1 170px;min-width:0;font:inherit;padding:8px 10px;border:1px solid var(--pw-line);border-radius:8px}",
    ".pw-btn{font:inherit;font-weight:600;border:0;border-radius:8px;padding:8px 12px;cursor:pointer;",
    "background:var(--pw-primary);color:var(--pw-on-primary)}",
    ".pw-btn:disabled{opacity:.55;cursor:default}",
    ".pw-note{margin:8px 0 0;font-size:13px}",
    ".pw-note.ok{color:#166534}.pw-note.bad{color:#991b1b}",
    ".pw-form{display:flex;gap:8px;padding:12px;border-top:1px solid var(--pw-line);background:var(--pw-bg)}",
    ".pw-form textarea{flex:1;resize:none;font:inherit;padding:9px 12px;border:1px solid var(--pw-line);",
    "border-radius:12px;height:42px;max-height:120px}",
    ".pw-send{width:42px;height:42px;padding:0;display:grid;place-items:center;border-radius:12px}",
    ".pw-send svg{width:20px;height:20px;fill:currentColor}",
    ".pw-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.pw{right:12px;bottom:12px}",
    ".pw-panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}",
    ".pw-open .pw-bubble{display:none}}",
    "@media (prefers-reduced-motion:reduce){.pw-bubble{transition:none}}",
  ].join("\n");

  var CHAT_ICON =
    "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var SEND_ICON = "M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z";

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }

  function addStyles(root) {
    // Constructed style sheets also work under a Content-Security-Policy without 'unsafe-inline'.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el("style", { text: CSS }));
    }
  }

  /* ---------- the widget ---------- */

  function Widget(info) {
    this.info = info;
    this.sessionId = load().session || null;
    this.busy = false;
    this.restored = false;

    var color = safeColor(info.primary_color);
    this.host = el("div", { "data-parmenid-widget": avatarId });
    this.host.style.setProperty("--pw-primary", color);
    this.host.style.setProperty("--pw-on-primary", contrastText(color));
    var root = this.host.attachShadow({ mode: "open" });
    addStyles(root);
    this.build(root);
    document.body.appendChild(this.host);
    if (load().open) this.open(false);
  }

  Widget.prototype.build = function (root) {
    var self = this;
    var info = this.info;
    var panelId = "pw-panel";
    var titleId = "pw-title";

    this.bubble = el("button", {
      type: "button",
      className: "pw-bubble",
      "aria-label": T.open + ": " + info.name,
      "aria-expanded": "false",
      "aria-controls": panelId,
    }, [icon(CHAT_ICON)]);
    this.bubble.addEventListener("click", function () {
      if (self.panel.hidden) self.open(true);
      else self.close(true);
    });

    var image = safeImageUrl(info.avatar_image_url);
    var picture = image
      ? el("img", { src: image, alt: "", width: "40", height: "40", referrerpolicy: "no-referrer" })
      : el("span", { className: "pw-initial", "aria-hidden": "true", text: (info.name || "?").charAt(0).toUpperCase() });
    var close = el("button", { type: "button", className: "pw-close", "aria-label": T.close, title: T.close, text: "×" });
    close.addEventListener("click", function () {
      self.close(true);
    });
    var restart = el("button", { type: "button", className: "pw-close", "aria-label": T.restart, title: T.restart, text: "↻" });
    restart.addEventListener("click", function () {
      self.reset();
    });
    var head = el("div", { className: "pw-head" }, [
      picture,
      el("div", { className: "pw-title" }, [
        el("p", { className: "pw-name", id: titleId, text: info.name }),
        info.description ? el("p", { className: "pw-desc", text: info.description }) : null,
      ]),
      restart,
      close,
    ]);

    this.log = el("div", {
      className: "pw-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions text",
    });

    this.input = el("textarea", {
      id: "pw-input",
      rows: "1",
      placeholder: T.placeholder,
      autocomplete: "off",
    });
    this.sendButton = el("button", { type: "submit", className: "pw-btn pw-send", "aria-label": T.send }, [icon(SEND_ICON)]);
    var form = el("form", { className: "pw-form" }, [
      el("label", { className: "pw-sr", for: "pw-input", text: T.input }),
      this.input,
      this.sendButton,
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.send();
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.send();
      }
    });

    this.panel = el("section", {
      id: panelId,
      className: "pw-panel",
      role: "dialog",
      "aria-labelledby": titleId,
    }, [head, this.log, form]);
    this.panel.hidden = true;
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") self.close(true);
    });

    this.frame = el("div", { className: "pw" }, [this.panel, this.bubble]);
    root.appendChild(this.frame);
  };

  Widget.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.frame.classList.add("pw-open");
    this.bubble.setAttribute("aria-expanded", "true");
    this.bubble.setAttribute("aria-label", T.close);
    save({ open: true });
    if (!this.restored) {
      this.restored = true;
      this.renderHistory([]);
      if (this.sessionId) this.restore(0);
    }
    if (focus) this.input.focus();
  };

  Widget.prototype.close = function (focus) {
    this.panel.hidden = true;
    this.frame.classList.remove("pw-open");
    this.bubble.setAttribute("aria-expanded", "false");
    this.bubble.setAttribute("aria-label", T.open + ": " + this.info.name);
    save({ open: null });
    if (focus) this.bubble.focus();
  };

  /** Follows the conversation, but never scrolls the latest question out of view: a long answer
   * is read from its start. */
  Widget.prototype.scroll = function () {
    var target = this.log.scrollHeight - this.log.clientHeight;
    if (this.anchor && this.anchor.isConnected) {
      target = Math.min(target, this.anchor.offsetTop - 12);
    }
    this.log.scrollTop = Math.max(0, target);
  };

  /** Adds a message bubble; returns its element. */
  Widget.prototype.say = function (who, text) {
    if (!text) return null;
    var kind = who === "user" ? "pw-user" : who === "error" ? "pw-error" : "pw-bot";
    var node = el("div", { className: "pw-msg " + kind });
    if (who === "error") node.setAttribute("role", "alert");
    if (who === "user") this.anchor = node;
    node.appendChild(el("span", { className: "pw-sr", text: (who === "user" ? T.you : T.bot) + ": " }));
    node.appendChild(document.createTextNode(text));
    this.log.appendChild(node);
    this.scroll();
    return node;
  };

  Widget.prototype.showSources = function (node, sources) {
    if (!node || !sources || !sources.length) return;
    var list = el("ol");
    var rest = [];
    sources.forEach(function (source, i) {
      var item = el("li", { className: "pw-source" }, [
        el("b", { text: source.document || "" }),
        el("span", { text: source.snippet || "" }),
      ]);
      if (i >= SOURCES_SHOWN) {
        item.hidden = true;
        rest.push(item);
      }
      list.appendChild(item);
    });
    var box = el("div", { className: "pw-sources" }, [
      el("p", { className: "pw-sources-title", text: T.sources }),
      list,
    ]);
    if (rest.length) {
      var more = el("button", { type: "button", className: "pw-more", text: T.more + " (" + rest.length + ")" });
      more.addEventListener("click", function () {
        rest.forEach(function (item) {
          item.hidden = false;
        });
        more.remove();
      });
      box.appendChild(more);
    }
    node.appendChild(box);
    this.scroll();
  };

  /** Restores the stored conversation; a session the server no longer knows is forgotten. */
  Widget.prototype.restore = function (attempt) {
    var self = this;
    var sessionId = this.sessionId;
    return request("GET", api + "/sessions/" + encodeURIComponent(sessionId) + "/messages")
      .then(function (response) {
        if (response.status === 404) {
          self.forgetSession();
          return;
        }
        if (!response.ok) return;
        return response.json().then(function (body) {
          if (self.sessionId !== sessionId || self.busy || self.sent) return;
          var pending = self.renderHistory(body.messages || []);
          // An answer still being written (the page was reloaded mid-stream): look again soon.
          if (pending && attempt < HISTORY_POLLS) {
            setTimeout(function () {
              self.restore(attempt + 1);
            }, 1500);
          }
        });
      })
      .catch(function () {
        self.say("error", T.network);
      });
  };

  /** The welcome message, then the conversation so far (the log is redrawn from scratch). */
  Widget.prototype.renderHistory = function (messages) {
    var self = this;
    var pending = false;
    var offer = false;
    this.log.textContent = "";
    this.leadBox = null;
    this.anchor = null;
    this.say("bot", this.info.welcome_message);
    messages.forEach(function (message) {
      if (message.role === "user") {
        self.say("user", message.content);
      } else if (message.status === "generating") {
        pending = true;
        var typing = self.say("bot", message.content || T.typing);
        if (typing && !message.content) typing.classList.add("pw-typing");
      } else {
        self.showSources(self.say("bot", message.content), message.sources);
        offer = offer || !!message.lead_offer;
      }
    });
    if (offer && !pending) this.offerLead();
    return pending;
  };

  /** Starts over: a new session is opened with the next question. */
  Widget.prototype.reset = function () {
    if (this.busy) return;
    this.forgetSession();
    this.sent = false;
    this.renderHistory([]);
    this.input.focus();
  };

  Widget.prototype.forgetSession = function () {
    this.sessionId = null;
    save({ session: null, lead: null });
  };

  Widget.prototype.ensureSession = function () {
    var self = this;
    if (this.sessionId) return Promise.resolve({ ok: true });
    return request("POST", api + "/sessions?source=web").then(function (response) {
      if (!response.ok) return failure(response, T.unavailable);
      return response.json().then(function (session) {
        self.sessionId = session.id;
        save({ session: session.id, lead: null });
        return { ok: true };
      });
    });
  };

  Widget.prototype.setBusy = function (busy) {
    this.busy = busy;
    this.sendButton.disabled = busy;
    this.log.setAttribute("aria-busy", busy ? "true" : "false");
  };

  Widget.prototype.send = function () {
    var content = this.input.value.trim();
    if (!content || this.busy) return;
    var self = this;
    this.setBusy(true);
    this.sent = true;
    this.input.value = "";
    this.say("user", content);
    var answer = this.say("bot", T.typing);
    answer.classList.add("pw-typing");
    var text = null;
    var sources = [];
    var finished = false;

    function fail(message) {
      finished = true;
      if (text === null) answer.remove();
      self.say("error", message);
    }

    function onEvent(name, data) {
      if (name === "sources") {
        sources = data.sources || [];
      } else if (name === "chunk") {
        if (text === null) {
          answer.classList.remove("pw-typing");
          answer.lastChild.remove();
          text = document.createTextNode("");
          answer.appendChild(text);
        }
        text.appendData(data.content || "");
        self.scroll();
      } else if (name === "done") {
        finished = true;
        if (text === null) answer.remove();
        else self.showSources(answer, sources);
        if (data.lead_offer) self.offerLead();
      } else if (name === "error") {
        finished = true;
        if (text === null) answer.remove();
        self.say("error", data.message || T.failed);
      }
    }

    function stream(retry) {
      return self.ensureSession().then(function (opened) {
        if (!opened.ok) return fail(opened.message);
        var url = api + "/stream?session_id=" + encodeURIComponent(self.sessionId);
        var init = {
          method: "POST",
          headers: {
            Accept: "text/event-stream",
            "Accept-Language": lang,
            "Content-Type": "application/json",
          },
          body: JSON.stringify({ content: content }),
          credentials: "omit",
        };
        return fetch(url, init).then(function (response) {
          if (response.status === 404 && retry) {
            self.forgetSession(); // the session ended on the server: start a new one
            return stream(false);
          }
          if (!response.ok || !response.body) {
            return failure(response, T.failed).then(function (f) {
              fail(f.message);
            });
          }
          return readEvents(response, onEvent).then(function () {
            if (!finished) fail(T.network);
          });
        });
      });
    }

    stream(true)
      .catch(function () {
        if (!finished) fail(T.network);
      })
      .then(function () {
        self.setBusy(false);
        self.input.focus();
      });
  };

  /** The inline contact form shown when the bot offers to take a contact. */
  Widget.prototype.offerLead = function () {
    var self = this;
    if (this.leadBox || !this.sessionId || load().lead === this.sessionId) return;
    var input = el("input", {
      id: "pw-lead-contact",
      type: "text",
      autocomplete: "email",
      placeholder: T.leadPlaceholder,
      maxlength: "320",
    });
    var button = el("button", { type: "submit", className: "pw-btn", text: T.leadSend });
    var note = el("p", { className: "pw-note", role: "status", "aria-live": "polite" });
    var form = el("form", { className: "pw-lead", "aria-label": T.leadTitle }, [
      el("p", { text: T.leadTitle }),
      el("label", { for: "pw-lead-contact", text: T.leadLabel }),
      el("div", { className: "pw-lead-row" }, [input, button]),
      note,
    ]);
    function show(ok, text) {
      note.className = "pw-note " + (ok ? "ok" : "bad");
      note.textContent = text;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var contact = input.value.trim();
      if (!contact) return show(false, T.leadEmpty);
      var body = { request_type: "demo_request" };
      // "name@host" is an e-mail; "@name", "name" and t.me links are Telegram.
      if (/^[^@\s]+@[^@\s]+$/.test(contact)) body.contact_email = contact;
      else body.contact_telegram = contact;
      button.disabled = true;
      var sessionId = self.sessionId;
      request("POST", api + "/sessions/" + encodeURIComponent(sessionId) + "/lead", body)
        .then(function (response) {
          if (response.status === 201) {
            save({ lead: sessionId });
            input.disabled = true;
            show(true, T.leadDone);
            return;
          }
          button.disabled = false;
          var fallback = response.status === 429 ? T.leadRate : T.failed;
          return errorText(response, fallback).then(function (message) {
            show(false, message);
          });
        })
        .catch(function () {
          button.disabled = false;
          show(false, T.network);
        });
    });
    this.leadBox = form;
    this.log.appendChild(form);
    this.scroll();
  };

  /* ---------- start ---------- */

  function start() {
    request("GET", api + "/info")
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (info) {
        new Widget(info);
      })
      .catch(function (error) {
        registry[avatarId] = false;
        console.warn("Parmenid widget: the chat is not available (" + error.message + ")");
      });
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
