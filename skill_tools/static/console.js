// The developer console: send what a person would say, show what the skill heard and answered.
// Plain JavaScript, no libraries: it runs from the package with nothing fetched from outside.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const transcript = $("transcript");
  const form = $("say-form");
  const input = $("utterance");
  const sayButton = $("say");
  const status = $("status");
  const muteButton = $("mute");
  const micButton = $("mic");
  const template = $("turn-template");

  // The server keeps no conversation: it hands back a signed token holding this tab's one (the
  // simulated person, the open skill session), and the next turn sends it back, whichever server
  // process answers. Kept per tab, so a reload carries on the same conversation.
  const SESSION_KEY = "bedtime-console-session";
  const MUTE_KEY = "bedtime-console-muted";
  const LOCALE_KEY = "bedtime-console-locale";
  const localePicker = $("locale");
  let session = sessionStorage.getItem(SESSION_KEY);
  // The market a new conversation starts in; an open conversation keeps the one it began with.
  let locale = sessionStorage.getItem(LOCALE_KEY);
  let busy = false;

  function setStatus(text, isError = false) {
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  function setBusy(value) {
    busy = value;
    for (const button of [sayButton, $("launch"), $("new-session"), localePicker]) button.disabled = value;
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch { /* not JSON: reported below */ }
    if (data && typeof data.session === "string") {
      session = data.session;
      sessionStorage.setItem(SESSION_KEY, session);
    } else if (data && data.session === null) {
      session = null; // the server will never accept the token we sent
      sessionStorage.removeItem(SESSION_KEY);
    }
    if (!response.ok) {
      const error = new Error((data && data.error) || `the server answered ${response.status}`);
      error.tokenRefused = response.status === 400 && data !== null && data.session === null;
      throw error;
    }
    return data;
  }

  // A restarted server signs with a new secret and refuses the token this tab kept; the refused
  // turn did nothing, so it is sent once more as the start of a new conversation.
  async function send(path, body) {
    try {
      return await post(path, body);
    } catch (error) {
      if (!error.tokenRefused || body.session === null) throw error;
      const data = await post(path, { ...body, session: null });
      data.restarted = true;
      return data;
    }
  }

  // --- reading answers aloud ---------------------------------------------------------------

  const canSpeak = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;
  let muted = localStorage.getItem(MUTE_KEY) === "1";

  function showMute() {
    muteButton.textContent = canSpeak ? (muted ? "Voice: off" : "Voice: on") : "Voice: unavailable";
    muteButton.setAttribute("aria-pressed", String(muted));
    muteButton.disabled = !canSpeak;
  }

  function speak(text) {
    if (!canSpeak || muted || !text) return;
    window.speechSynthesis.cancel();
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = locale || "en-US";
    utterance.rate = 0.95; // a touch slower: this is a bedtime voice
    utterance.volume = 0.8;
    window.speechSynthesis.speak(utterance);
  }

  muteButton.addEventListener("click", () => {
    muted = !muted;
    localStorage.setItem(MUTE_KEY, muted ? "1" : "0");
    if (muted && canSpeak) window.speechSynthesis.cancel();
    showMute();
  });
  showMute();

  // --- the transcript ----------------------------------------------------------------------

  function describeSlots(slots) {
    return Object.entries(slots || {})
      .map(([name, slot]) => `${name}=${slot.value}` + (slot.id ? ` [${slot.id}]` : ""))
      .join(", ");
  }

  function addTurn(said, data, { system = false } = {}) {
    const item = template.content.firstElementChild.cloneNode(true);
    if (system) item.classList.add("system");
    item.querySelector(".utterance").textContent = said;
    item.querySelector(".intent").textContent = data.intent || data.requestType || "";
    item.querySelector(".confidence").textContent =
      typeof data.confidence === "number" ? data.confidence.toFixed(2) : "";
    item.querySelector(".slots").textContent = describeSlots(data.slots);
    item.querySelector(".answer").textContent = data.speech || "(silence)";
    item.querySelector(".reprompt").textContent = data.reprompt ? `Reprompt: ${data.reprompt}` : "";
    item.querySelector(".request").textContent = JSON.stringify(data.request, null, 2);
    item.querySelector(".response").textContent = JSON.stringify(data.response, null, 2);
    transcript.appendChild(item);
    if (data.ended) {
      const closed = document.createElement("li");
      closed.className = "closed";
      closed.textContent = "(session closed)";
      transcript.appendChild(closed);
    }
    $("empty").hidden = true;
    item.scrollIntoView({ block: "nearest" });
  }

  function addError(said, message) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.classList.add("error");
    item.querySelector(".utterance").textContent = said;
    item.querySelector(".answer").textContent = `Error: ${message}`;
    item.querySelector(".json").remove();
    transcript.appendChild(item);
    $("empty").hidden = true;
  }

  async function run(said, path, body, options) {
    if (busy) return;
    setBusy(true);
    setStatus("Waiting for the skill…");
    try {
      const data = await send(path, body);
      addTurn(said, data, options);
      const restarted = data.restarted ? "The server did not know this tab's session, so a new one began. " : "";
      setStatus(restarted + (data.ended ? "The session is closed; say something to start a new one." : "The skill is listening."));
      speak(data.speech);
    } catch (error) {
      addError(said, error.message);
      setStatus(error.message, true);
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault(); // Enter and the Say button both land here
    const text = input.value.trim();
    if (!text) {
      setStatus("Type something to say first.", true);
      return;
    }
    if (busy) return;
    input.value = "";
    run(text, "/console/say", { session, text, locale });
  });

  $("launch").addEventListener("click", () => {
    run("(opens the skill)", "/console/launch", { session, locale }, { system: true });
  });

  // --- the market: which locale the simulated speaker is set to ------------------------------

  async function loadLocales() {
    const response = await fetch("/console/locales", { headers: { "Accept": "application/json" } });
    const data = await response.json();
    if (!data.locales.includes(locale)) locale = data.default;
    localePicker.replaceChildren(...data.locales.map((name) => new Option(name, name, false, name === locale)));
  }
  loadLocales().catch(() => setStatus("Could not read the markets; the console's default is used.", true));

  // Another market is another speaker setting: the open session ends, and the next turn starts
  // a new one in that locale (its own model, limit sentence and words).
  localePicker.addEventListener("change", async () => {
    if (busy) return;
    setBusy(true);
    try {
      if (session) await send("/console/end", { session });
      session = null;
      sessionStorage.removeItem(SESSION_KEY);
      locale = localePicker.value;
      sessionStorage.setItem(LOCALE_KEY, locale);
      transcript.replaceChildren();
      $("empty").hidden = false;
      setStatus(`Market ${locale}: the next thing you say starts a new session there.`);
    } catch (error) {
      setStatus(error.message, true);
    } finally {
      setBusy(false);
      input.focus();
    }
  });

  $("new-session").addEventListener("click", async () => {
    if (busy) return;
    setBusy(true);
    if (canSpeak) window.speechSynthesis.cancel();
    try {
      await send("/console/end", { session });
      transcript.replaceChildren();
      $("empty").hidden = false;
      setStatus("New session: the next thing you say starts fresh.");
    } catch (error) {
      setStatus(error.message, true);
    } finally {
      setBusy(false);
      input.focus();
    }
  });

  // --- speaking instead of typing, where the browser offers it -----------------------------

  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (Recognition) {
    const recognizer = new Recognition();
    recognizer.lang = locale || "en-US";
    recognizer.interimResults = false;
    recognizer.maxAlternatives = 1;
    let listening = false;

    const setListening = (value) => {
      listening = value;
      micButton.setAttribute("aria-pressed", String(value));
    };

    recognizer.addEventListener("result", (event) => {
      const heard = event.results[0][0].transcript;
      input.value = heard;
      form.requestSubmit();
    });
    recognizer.addEventListener("error", (event) => {
      setStatus(`Speech recognition stopped: ${event.error}`, true);
    });
    recognizer.addEventListener("end", () => setListening(false));

    micButton.addEventListener("click", () => {
      if (listening) {
        recognizer.stop();
        return;
      }
      if (canSpeak) window.speechSynthesis.cancel(); // don't let the answer hear itself
      try {
        recognizer.lang = locale || "en-US"; // the market picked since may hear "paracetamol" better
        recognizer.start();
        setListening(true);
        setStatus("Listening…");
      } catch (error) {
        setStatus(`Speech recognition unavailable: ${error.message}`, true);
      }
    });
    micButton.hidden = false;
  }

  input.focus();
})();
