import { LOCALE_NAMES, SUPPORTED_LOCALES, type Locale } from "../i18n/messages";

interface LanguageSwitchProps {
  locale: Locale;
  label: string;
  onChange(locale: Locale): void;
}

export function LanguageSwitch({ locale, label, onChange }: LanguageSwitchProps) {
  return (
    <label className="language-switch">
      <span className="visually-hidden">{label}</span>
      <select
        value={locale}
        onChange={(event) => onChange(event.target.value as Locale)}
        aria-label={label}
      >
        {SUPPORTED_LOCALES.map((option) => (
          <option key={option} value={option} lang={option}>
            {LOCALE_NAMES[option]}
          </option>
        ))}
      </select>
    </label>
  );
}
