/* The viewer of a shared PresentAI deck: one slide at a time, keyboard, buttons and swipes,
 * and the time spent on each slide reported to the share's view API.
 *
 * Time counts only while the page is visible. Reports carry running totals per slide
 * ({"1": 5300, "2": 1200}), so a lost or repeated report does no harm. They are sent a second
 * after a change of slide, every 15 seconds, and when the page is hidden or left.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-viewer]");
  if (!root) {
    return; // a notice or password page
  }
  var slides = Array.prototype.slice.call(root.querySelectorAll(".slide"));
  var total = slides.length;
  if (!total) {
    return;
  }
  document.documentElement.classList.add("js");

  var counter = root.querySelector("[data-counter]");
  var progress = root.querySelector("[data-progress]");
  var prev = root.querySelector('[data-go="prev"]');
  var next = root.querySelector('[data-go="next"]');
  var api = root.getAttribute("data-api");
  var access = root.getAttribute("data-access") || "";

  var current = -1;
  var viewId = null;
  var dwell = {};
  var lastSent = "";
  var shownAt = null;
  var timer = null;
  var FLUSH_DELAY_MS = 1000;
  var HEARTBEAT_MS = 15000;

  function now() {
    return window.performance && performance.now ? performance.now() : Date.now();
  }

  function account() {
    if (shownAt === null || current < 0) {
      return;
    }
    var t = now();
    var key = String(current + 1);
    dwell[key] = (dwell[key] || 0) + Math.max(0, t - shownAt);
    shownAt = t;
  }

  function show(index) {
    index = Math.max(0, Math.min(total - 1, index));
    if (index === current) {
      return;
    }
    account();
    if (current >= 0) {
      slides[current].classList.remove("current");
      slides[current].setAttribute("aria-hidden", "true");
    }
    current = index;
    slides[current].classList.add("current");
    slides[current].removeAttribute("aria-hidden");
    counter.textContent = current + 1 + " / " + total;
    progress.style.width = ((current + 1) / total) * 100 + "%";
    prev.disabled = current === 0;
    next.disabled = current === total - 1;
    if (window.history && history.replaceState) {
      history.replaceState(null, "", "#" + (current + 1));
    }
    if (shownAt === null && document.visibilityState !== "hidden") {
      shownAt = now();
    }
    schedule();
  }

  function fromHash() {
    var match = /^#(?:slide-)?(\d{1,4})$/.exec(window.location.hash);
    return match ? parseInt(match[1], 10) - 1 : 0;
  }

  function report() {
    var out = {};
    Object.keys(dwell).forEach(function (key) {
      var ms = Math.round(dwell[key]);
      if (ms > 0) {
        out[key] = ms;
      }
    });
    return JSON.stringify({ dwell_ms: out });
  }

  function flush(leaving) {
    account();
    if (!viewId) {
      return;
    }
    var body = report();
    if (body === lastSent) {
      return;
    }
    lastSent = body;
    var url = api + "/views/" + encodeURIComponent(viewId);
    if (leaving && navigator.sendBeacon) {
      var blob = new Blob([body], { type: "application/json" });
      if (navigator.sendBeacon(url, blob)) {
        return;
      }
    }
    try {
      fetch(url, {
        method: "POST",
        body: body,
        keepalive: true,
        credentials: "omit",
        headers: { "Content-Type": "application/json" },
      }).catch(function () {
        lastSent = ""; // try again with the next report
      });
    } catch (e) {
      lastSent = "";
    }
  }

  function schedule() {
    if (timer === null) {
      timer = window.setTimeout(function () {
        timer = null;
        flush(false);
      }, FLUSH_DELAY_MS);
    }
  }

  function startView() {
    var headers = {};
    if (access) {
      headers["X-Share-Access"] = access;
    }
    fetch(api + "/views", { method: "POST", headers: headers, credentials: "omit" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && body.view_id) {
          viewId = body.view_id;
          schedule();
          window.setInterval(function () {
            flush(false);
          }, HEARTBEAT_MS);
        }
      })
      .catch(function () {
        /* no analytics for this view; the deck still works */
      });
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) {
      return;
    }
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      return;
    }
    var target = null;
    switch (event.key) {
      case "ArrowRight":
      case "PageDown":
      case " ":
        target = event.key === " " && event.shiftKey ? current - 1 : current + 1;
        break;
      case "ArrowLeft":
      case "PageUp":
        target = current - 1;
        break;
      case "Home":
        target = 0;
        break;
      case "End":
        target = total - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    show(target);
  });

  prev.addEventListener("click", function () {
    show(current - 1);
  });
  next.addEventListener("click", function () {
    show(current + 1);
  });

  var touchX = null;
  root.addEventListener(
    "touchstart",
    function (event) {
      touchX = event.touches.length === 1 ? event.touches[0].clientX : null;
    },
    { passive: true }
  );
  root.addEventListener("touchend", function (event) {
    if (touchX === null || !event.changedTouches.length) {
      return;
    }
    var dx = event.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(dx) > 50) {
      show(dx < 0 ? current + 1 : current - 1);
    }
  });

  window.addEventListener("hashchange", function () {
    show(fromHash());
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      account();
      shownAt = null;
      flush(true);
    } else if (shownAt === null) {
      shownAt = now();
    }
  });
  window.addEventListener("pagehide", function () {
    flush(true);
  });

  show(fromHash());
  startView();
})();
