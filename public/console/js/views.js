// @ts-check
// The console's sections as tabs: the URL fragment names the one shown (#api-access,
// #project-keys, #audit-log), and showing it loads its data.
import { $ } from './ui.js';

/**
 * A section: its panel's id, its heading's id (focused when the user switches to it) and what
 * loads its data.
 * @typedef {{ id: string, title: string, load: () => void }} View
 */

/** The sections in tab order, the first the default; set once by useViews. */
/** @type {View[]} */
let views = [];

/** Sets the sections and follows the fragment from now on. @param {View[]} list */
export function useViews(list) {
  views = list;
  window.addEventListener('hashchange', () => route(true));
}

/** Shows the view named by the URL fragment and loads its data. @param {boolean} moveFocus */
export function route(moveFocus) {
  if ($('app-view').hidden || views.length === 0) return;
  const wanted = location.hash.slice(1);
  const view = views.find((v) => v.id === wanted) ?? views[0];
  for (const { id } of views) $(id).hidden = id !== view.id;
  for (const link of document.querySelectorAll('.tabs a')) {
    if (link.getAttribute('data-view') === view.id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  view.load();
  if (moveFocus) $(view.title).focus();
}
