"""The administrator's path in French, in a real browser: a browser that asks for French
gets every step in French, and the header's switch keeps English once chosen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import SIM_DOMAIN, collect_page_errors

PASSWORD = "une phrase de passe assez longue"


def test_setup_add_integration_statistics_and_explain_in_french(browser, live_server) -> None:
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = collect_page_errors(page)
    try:
        _walk(page)
    finally:
        context.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


def _walk(page: Page) -> None:
    # Setup.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Créer l’administrateur")).to_be_visible()
    page.get_by_label("Nom d’utilisateur").fill("planificatrice")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmer le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer le compte").click()

    # Empty list → gallery → Freshworks → Freshchat form, in the seed's words.
    expect(page.locator("#flash")).to_contain_text("Compte administrateur créé.")
    expect(page.get_by_role("heading", name="Aucune intégration pour l’instant")).to_be_visible()
    page.get_by_role("link", name="Ajouter une intégration").click()
    expect(page.get_by_role("heading", name="Modèles d’intégration")).to_be_visible()
    expect(page.get_by_text("Bientôt disponible").first).to_be_visible()
    page.get_by_role("link", name="Sélectionner le modèle").click()
    expect(page.get_by_text("Nécessite un compte Freshchat Pro ou Enterprise")).to_be_visible()
    page.get_by_role("link", name="Ajouter cette intégration").click()
    expect(
        page.get_by_role("heading", name="Configurer votre intégration Freshchat")
    ).to_be_visible()
    expect(page.locator("legend", has_text="Identifiants")).to_be_visible()

    # An inline error arrives by htmx in French; the connection test answers in French.
    page.get_by_label("Nom", exact=True).fill("Chats du support")
    domain = page.get_by_label("Domaine Freshchat")
    domain.fill("support.example.com")
    domain.blur()
    expect(page.locator("#errors-domain")).to_contain_text("n’est pas un domaine Freshchat")
    domain.fill(SIM_DOMAIN)
    domain.blur()
    expect(page.locator("#errors-domain")).to_be_empty()
    page.get_by_label("Clé API").fill("demo-agent-key")
    page.get_by_role("button", name="Tester la connexion").click()
    expect(page.locator("#connection-result")).to_contain_text("rôle Account Administrator")
    page.get_by_label("Clé API").fill("demo-admin-key")
    page.get_by_role("button", name="Tester la connexion").click()
    expect(page.locator("#connection-result")).to_contain_text(f"Connecté à {SIM_DOMAIN}")
    page.get_by_label("Historique à importer à la première synchronisation (jours)").fill("10")

    # Save: the integration page, its flash and sections in French.
    page.get_by_role("button", name="Sauvegarder l’intégration").click()
    expect(page.get_by_role("heading", name=re.compile("Chats du support"))).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("Intégration « Chats du support » sauvegardée.")
    expect(page.get_by_role("heading", name="Installer l’application compagnon")).to_be_visible()
    page.get_by_role("button", name="Synchroniser maintenant").click()
    expect(page.locator("#sync-panel")).to_contain_text("Réussie")

    # Statistics: one day with chats, its source queues and counts in French.
    detail = page.url.split("?")[0]
    page.goto(f"{detail}?span=day&date=2026-11-19")
    expect(page.get_by_role("heading", name="Files d’attente source")).to_be_visible()
    expect(page.locator("#stats-queues")).to_contain_text("Customer Support")
    expect(page.locator("#stats-undefined")).to_contain_text("Undefined_Queue")
    expect(page.locator("#stats-series-title")).to_contain_text("contacts")
    expect(page.locator("#stats-period")).to_contain_text("jeudi 19 novembre 2026")

    # Explain the tallest bar: its chats, and why each counts there, in French.
    bars = page.locator("#stats-panel svg a")
    expect(bars.first).to_be_attached()
    labels = bars.evaluate_all("links => links.map(a => a.getAttribute('aria-label'))")
    counts = [int(re.search(r": (\d+) contacts?", label).group(1)) for label in labels]
    tallest = counts.index(max(counts))
    bars.nth(tallest).click()
    explain = page.locator("#stats-explain")
    expect(explain).to_contain_text(f"{counts[tallest]} contact")
    expect(explain).to_contain_text("toutes les files d’attente")
    expect(page.locator("#explain-table thead")).to_contain_text(
        "Pourquoi dans cette file d’attente"
    )
    expect(page.locator("#explain-table")).to_contain_text("groupe lors de sa dernière résolution")

    # The header's switch: English, remembered across pages, and back to French.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Source queues")).to_be_visible()
    page.get_by_role("link", name="Integrations", exact=True).first.click()
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", name="Intégrations", exact=True)).to_be_visible()
