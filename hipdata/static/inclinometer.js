// Phone inclinometer. The angle shown is the angle between the direction of gravity the phone sensed when
// the patient tapped "Set zero" and the direction it senses now, so it reads the same however the phone is
// held at the start. A hold is steady when the last second of readings stays within +/-1 degree; only a
// steady angle at least MIN_ANGLE from the zero can be put into the field, so the phone still lying in the
// start position (right after Set zero, or a tap by mistake) never offers 0 degrees. Nothing is fetched:
// this file is the whole component.
const HOLD_MS = 1000;
const TOLERANCE = 1; // degrees either side
const MIN_ANGLE = 5; // degrees from the zero: past the wobble of a phone held still in the start position
const SAMPLE_MS = 100;
const NO_SENSOR_MS = 2500;
const mounted = new WeakMap();
const MOVE_TO_POSITION =
  `Zero set: now move to the test position and hold still. Under ${MIN_ANGLE}°? Type it in the field.`;

const MESSAGES = {
  insecure:
    "The motion sensor only works when this page is opened over HTTPS (an address starting with https://). " +
    "Type the angle in the field instead.",
  noSensor:
    "No motion sensor answers on this device (a computer has none). Use a phone, or type the angle in the field.",
  refused:
    "Motion sensor access was refused. Type the angle in the field, or allow motion access in your " +
    "browser settings and tap Measure with phone again.",
};

// The unit vector pointing up (against gravity) in the phone's own frame, from W3C device orientation.
function upVector(beta, gamma) {
  const b = (beta * Math.PI) / 180;
  const g = (gamma * Math.PI) / 180;
  return [-Math.cos(b) * Math.sin(g), Math.sin(b), Math.cos(b) * Math.cos(g)];
}

function angleBetween(u, v) {
  const dot = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  return (Math.acos(Math.max(-1, Math.min(1, dot))) * 180) / Math.PI;
}

export default function (component) {
  const { parentElement, setTriggerValue } = component;
  const { data } = component;
  parentElement.querySelector(".incl").dataset.series = (data && data.series) || "";
  if (mounted.has(parentElement)) return mounted.get(parentElement);
  const $ = (selector) => parentElement.querySelector(selector);
  const panel = $(".panel");
  const angleText = $(".angle");
  const status = $(".status");
  const useButton = $(".use");
  const message = $(".message");
  let latest = null; // the latest up vector
  let zero = null;
  let samples = []; // [time, angle] over the last hold window
  let steady = null;
  let timer = null;
  let listening = false;

  const say = (text) => {
    message.textContent = text;
    message.hidden = !text;
  };
  const onOrientation = (event) => {
    if (event.beta === null || event.gamma === null) return; // a desktop answers with empty readings
    latest = upVector(event.beta, event.gamma);
  };

  function tick() {
    if (!latest) return;
    if (!zero) {
      status.textContent = "Hold the phone in the start position, then tap Set zero.";
      return;
    }
    const now = performance.now();
    const angle = angleBetween(zero, latest);
    samples.push([now, angle]);
    samples = samples.filter(([t]) => now - t <= HOLD_MS + SAMPLE_MS);
    angleText.textContent = `${Math.round(angle)}°`;
    const values = samples.map(([, a]) => a);
    const held = now - samples[0][0] >= HOLD_MS - SAMPLE_MS / 2;
    const mean = Math.round(values.reduce((a, b) => a + b, 0) / values.length);
    const still = held && Math.max(...values) - Math.min(...values) <= 2 * TOLERANCE;
    steady = still && mean >= MIN_ANGLE ? mean : null;
    useButton.disabled = steady === null;
    if (steady !== null) status.textContent = `Steady at ${steady}°. Tap Use this angle.`;
    else if (Math.round(angle) < MIN_ANGLE) status.textContent = MOVE_TO_POSITION;
    else status.textContent = "Move slowly, then hold still for a second.";
  }

  async function start() {
    say("");
    if (!window.isSecureContext) return say(MESSAGES.insecure);
    if (typeof DeviceOrientationEvent === "undefined") return say(MESSAGES.noSensor);
    if (typeof DeviceOrientationEvent.requestPermission === "function") {
      // iOS asks for motion access only from a tap: this button is that tap.
      let answer = "denied";
      try {
        answer = await DeviceOrientationEvent.requestPermission();
      } catch (error) {
        answer = "denied";
      }
      if (answer !== "granted") return say(MESSAGES.refused);
    }
    if (!listening) {
      window.addEventListener("deviceorientation", onOrientation);
      listening = true;
    }
    panel.hidden = false;
    status.textContent = "Waiting for the motion sensor…";
    clearInterval(timer);
    timer = setInterval(tick, SAMPLE_MS);
    setTimeout(() => {
      if (!latest) {
        panel.hidden = true;
        say(MESSAGES.noSensor);
      }
    }, NO_SENSOR_MS);
  }

  $(".open").addEventListener("click", start);
  $(".zero").addEventListener("click", () => {
    if (!latest) return;
    zero = latest;
    samples = [];
    steady = null;
    useButton.disabled = true;
    angleText.textContent = "0°";
    status.textContent = MOVE_TO_POSITION;
  });
  useButton.addEventListener("click", () => {
    if (steady !== null) setTriggerValue("angle", steady);
  });

  const cleanup = () => {
    clearInterval(timer);
    window.removeEventListener("deviceorientation", onOrientation);
    mounted.delete(parentElement);
  };
  mounted.set(parentElement, cleanup);
  return cleanup;
}
