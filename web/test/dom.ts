// DOM and fetch helpers shared by the rendering tests.
import { act } from 'preact/test-utils';
import { vi } from 'vitest';

/** A JSON answer as the gateway gives it. */
export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** Dispatches an event inside `act`, so Preact renders what follows. */
export const fire = (el: Element, ev: Event) =>
  act(() => {
    el.dispatchEvent(ev);
  });

export const click = (el: Element | null) => fire(el!, new MouseEvent('click', { bubbles: true }));

/** The button whose accessible name (aria-label, else text) is `name`. */
export const button = (name: string) =>
  [...document.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent?.trim()) === name) ?? null;

export const type = async (el: HTMLTextAreaElement | HTMLInputElement, text: string) => {
  el.value = text;
  await fire(el, new Event('input', { bubbles: true }));
};

/** Waits for `f` to pass, letting Preact render between tries (renders queue inside act). */
export const until = (f: () => void) =>
  vi.waitFor(async () => {
    await act(() => new Promise<void>((r) => setTimeout(r, 5)));
    f();
  });
