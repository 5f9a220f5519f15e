/**
 * The demo's emoji catalogue (emojivoto-like) and the one emoji whose vote always fails. Pure data
 * and lookups; the emoji service serves them over gRPC.
 */

export interface Emoji {
  unicode: string;
  shortcode: string;
}

/** A vote for this shortcode always fails in the voting service (as emojivoto's :poop:). */
export const FAILING_SHORTCODE = ':poop:';

export const EMOJIS: readonly Emoji[] = [
  { unicode: '🍩', shortcode: ':doughnut:' },
  { unicode: '🦄', shortcode: ':unicorn:' },
  { unicode: '🚀', shortcode: ':rocket:' },
  { unicode: '🌮', shortcode: ':taco:' },
  { unicode: '🐙', shortcode: ':octopus:' },
  { unicode: '🍕', shortcode: ':pizza:' },
  { unicode: '🎸', shortcode: ':guitar:' },
  { unicode: '🌵', shortcode: ':cactus:' },
  { unicode: '🦀', shortcode: ':crab:' },
  { unicode: '🧇', shortcode: ':waffle:' },
  { unicode: '💩', shortcode: FAILING_SHORTCODE },
  { unicode: '🐳', shortcode: ':whale:' },
  { unicode: '🍄', shortcode: ':mushroom:' },
  { unicode: '🦊', shortcode: ':fox:' },
  { unicode: '🌈', shortcode: ':rainbow:' },
  { unicode: '🐢', shortcode: ':turtle:' },
  { unicode: '🍉', shortcode: ':watermelon:' },
  { unicode: '🎈', shortcode: ':balloon:' },
  { unicode: '🦉', shortcode: ':owl:' },
  { unicode: '☕', shortcode: ':coffee:' },
];

const BY_SHORTCODE = new Map(EMOJIS.map((e) => [e.shortcode, e]));

export function findByShortcode(shortcode: string): Emoji | undefined {
  return BY_SHORTCODE.get(shortcode);
}
