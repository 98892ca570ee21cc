/**
 * Language choice: the browser's preference on first visit, then whatever the user picked
 * (kept in localStorage). Translators are built once per locale so that `t` is a stable
 * reference and can be passed to memoised components.
 */
import { create } from "zustand";
import type { DurationUnits } from "../lib/format";
import {
  DURATION_UNITS,
  MESSAGES,
  SUPPORTED_LOCALES,
  type Locale,
  type MessageKey,
} from "./messages";

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

export interface I18n {
  locale: Locale;
  t: Translate;
  durationUnits: DurationUnits;
}

export const LOCALE_STORAGE_KEY = "monitord.locale";

/** First supported match in the browser's language list: any "zh*" picks Chinese. */
export function detectLocale(languages: readonly string[]): Locale {
  for (const language of languages) {
    const lower = language.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

function isLocale(value: unknown): value is Locale {
  return (SUPPORTED_LOCALES as readonly unknown[]).includes(value);
}

export function makeTranslate(locale: Locale): Translate {
  const table = MESSAGES[locale];
  return (key, values) => {
    // A key computed from wire data (e.g. a status the daemon added later) may be missing:
    // show the key rather than nothing.
    const template = (table[key] as string | undefined) ?? key;
    if (values === undefined) return template;
    return template.replace(/\{(\w+)\}/g, (match, name: string) =>
      name in values ? String(values[name]) : match,
    );
  };
}

const i18nByLocale = new Map<Locale, I18n>(
  SUPPORTED_LOCALES.map((locale) => [
    locale,
    { locale, t: makeTranslate(locale), durationUnits: DURATION_UNITS[locale] },
  ]),
);

export function i18nFor(locale: Locale): I18n {
  return i18nByLocale.get(locale)!;
}

function storedLocale(): Locale | null {
  try {
    const value = typeof localStorage === "undefined" ? null : localStorage.getItem(LOCALE_STORAGE_KEY);
    return isLocale(value) ? value : null;
  } catch {
    return null;
  }
}

function browserLanguages(): readonly string[] {
  if (typeof navigator === "undefined") return [];
  return navigator.languages.length > 0 ? navigator.languages : [navigator.language];
}

export interface LocaleState {
  locale: Locale;
  setLocale(locale: Locale): void;
}

export const useLocaleStore = create<LocaleState>()((set) => ({
  locale: storedLocale() ?? detectLocale(browserLanguages()),
  setLocale(locale) {
    try {
      localStorage.setItem(LOCALE_STORAGE_KEY, locale);
    } catch {
      // Not persisted; the choice still holds for this page.
    }
    set({ locale });
  },
}));

/** The current language's translator and unit names. */
export function useI18n(): I18n {
  return i18nFor(useLocaleStore((state) => state.locale));
}
