// A phone keeps its scroll position when the page reruns: after Next or Back the patient would still be
// looking at the buttons, with the new step's title and how-to out of view. When the step changes, bring
// the step's progress line (just below this element) into view, or, right after a save, the confirmation.
let shownStep = null;

export default function (component) {
  const step = component.data && component.data.step;
  if (step === shownStep) return;
  const first = shownStep === null;
  shownStep = step;
  if (first) return;
  setTimeout(() => {
    const saved = document.querySelector('[data-testid="stAlertContentSuccess"]');
    const line = document.querySelector('[data-testid="stProgress"]');
    (saved || line || component.parentElement).scrollIntoView({ block: "start" });
  }, 50);
}
