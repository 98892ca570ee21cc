import { useI18n } from "../i18n/i18n";
import { Link } from "../lib/router";

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <section className="page">
      <h1>{t("notFound.title")}</h1>
      <Link to="/">{t("detail.back")}</Link>
    </section>
  );
}
