"""The set-up kit's texts in French and English (``ops/setup_page.py`` fills them).

``{name}`` is a value from the configuration, written as data; ``**label**`` is a label of
the mail client's own screens (in the language its users most likely see). The facts come
from ../shared/DOMAIN.md, "Setting up the copies".
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Setting up lead tracking: {name}",
        "intro": "Every lead e-mail {name} receives from the portals must also reach a tracked address, "
                 "where emailtrack reads it. Choose the set-up below that fits the mailbox where the leads "
                 "arrive: one is enough (a lead reaching tracking twice is counted once).",
        "addresses": "Tracked addresses",
        "address_all": "For every portal: {address}",
        "address_portal": "For {portal} only: {address}",
        "address_none": "This point of sale has no tracked address yet: issue one with {command}.",
        "mailboxes": "Mailboxes where the leads arrive: {mailboxes}",
        "mailboxes_none": "No mailbox is configured for this point of sale ({key} in emailtrack.toml).",
        "routes": "Senders to forward",
        "route": "{portals} → {address}: {senders}",
        "unrouted": "Not forwarded (no tracked address for every portal): {portals}. Issue one with {command}.",
        "no_senders": "Recognised by their subjects only, so no rule can select them by sender: {portals}.",
        "files": "Files in this folder",
        "file_gmail": "{file}: the Gmail filters to import",
        "file_outlook": "{file}: the Microsoft 365 inbox rules, for an administrator (Exchange Online PowerShell)",
        "file_sieve": "{file}: the Sieve rules (Dovecot/Pigeonhole hosts)",
        "gmail": "Gmail and Google Workspace",
        "gmail_1": "Open Gmail's **Settings** (the gear), **See all settings**, tab **Forwarding and POP/IMAP**, "
                   "**Add a forwarding address** and enter {addresses} (each one, when there are several).",
        "gmail_2": "Gmail sends a confirmation message with a code and a link to that address, that is to "
                   "the tracking service: ask whoever runs emailtrack for the code (once the message is "
                   "read, **emailtrack status** shows its code and link), enter it and click **Verify**. Leave **Disable forwarding** "
                   "selected: the filters forward the portals' mail only.",
        "gmail_3": "Tab **Filters and Blocked Addresses**, **Import filters**, choose {file}, **Open file**, "
                   "then **Create filters**.",
        "gmail_note": "Until the forwarding address is confirmed, the filters forward nothing.",
        "m365": "Outlook on the web and Microsoft 365",
        "m365_1": "In Outlook on the web: **Settings**, **Mail**, **Rules**, **Add new rule**, one per line of "
                  "the senders to forward above; name it {rule_name}.",
        "m365_2": "Condition **From** (or **Sender address includes**): the line's senders.",
        "m365_3": "Action **Redirect to**: the line's tracked address ({addresses}). Redirect keeps the original sender; "
                  "**Forward to** would hide it. Leave **Stop processing more rules** unchecked, then "
                  "**Save**.",
        "m365_4": "Or an administrator runs {file} in Exchange Online PowerShell "
                  "(after {connect}): it creates the same rule in each mailbox.",
        "m365_admin": "Microsoft 365 blocks automatic forwarding to external addresses by default "
                      "(outbound spam filter policy, automatic forwarding \"Automatic - System-controlled\"). "
                      "An administrator must allow it for these mailboxes (Microsoft Defender: **Policies & "
                      "rules**, **Threat policies**, **Anti-spam**, outbound policy, **Automatic forwarding "
                      "rules**: **On - Forwarding is enabled**, best in a policy that applies to these "
                      "mailboxes only). Otherwise every copy bounces with the error 5.7.520 and nothing "
                      "reaches tracking.",
        "outlook": "Outlook for Windows",
        "outlook_1": "**File**, **Manage Rules & Alerts**, **New Rule**, **Apply rule on messages I receive** "
                     "(one rule per line of the senders to forward above).",
        "outlook_2": "Condition **with specific words in the sender's address**: the line's senders.",
        "outlook_3": "Action **redirect it to people or public group**: the line's tracked address "
                     "({addresses}); **Finish**.",
        "outlook_warning": "A rule marked \"client-only\" runs only while Outlook is open on that PC: copies "
                           "stop at night, at weekends and during holidays. For a Microsoft 365 or Exchange "
                           "mailbox, create the rule in Outlook on the web instead: it runs on the server.",
        "apple": "Apple Mail",
        "apple_1": "**Mail**, **Settings**, **Rules**, **Add Rule**, one per line of the senders to forward "
                   "above; description {rule_name}.",
        "apple_2": "**If any of the following conditions are met**: one line **From** **Contains** per "
                   "sender of the line.",
        "apple_3": "**Perform the following actions**: **Redirect Message** to the line's tracked address "
                   "({addresses}; redirect keeps the original sender), then **OK**.",
        "apple_note": "Rules of Mail on a Mac run only while Mail is open on it. iCloud Mail rules created on "
                      "icloud.com run on the server.",
        "sieve": "Sieve (Dovecot hosts, many hosting offers)",
        "sieve_1": "In the webmail's filter settings (Roundcube: **Settings**, **Filters**), import {file} or "
                   "copy its rules into the active filter set; with ManageSieve, upload it and activate it.",
        "sieve_2": "{redirect} sends a copy to the tracked address and keeps the message in the mailbox.",
        "sieve_note": "If a filter set is already active, add the rules to it (the {require} line first) "
                      "rather than replacing it.",
        "portal": "Copy on the portal",
        "portal_1": "Some portals let the agency add a second recipient for their lead e-mails: the simplest "
                    "set-up, but not everywhere. In the portal's professional space, add {address} as "
                    "second recipient of the contact e-mails.",
        "portal_2": "emailtrack's portal catalogue does not record which portals offer a second recipient: "
                    "check in each one. Portals known to this workspace: {portals}.",
        "portal_reserved": "On {portal}, use its own address {address}.",
        "distribution": "Multi-distribution system",
        "distribution_1": "If the network's multi-distribution system dispatches the leads, its tracking copy "
                          "goes to {address}, and emailtrack attributes it to the points of sale through the "
                          "system's log.",
        "distribution_none": "If the network's multi-distribution system dispatches the leads, give it a "
                             "tracked address of its own in emailtrack.toml:",
        "distribution_2": "Export its log as CSV with the header {header}, one row per copy dispatched, and "
                          "ingest it:",
        "distribution_3": "This point of sale is recognised in the log by {addresses}.",
        "footer": "Written by {command} for the workspace {workspace}.",
    },
    "fr": {
        "title": "Mise en place du suivi des contacts : {name}",
        "intro": "Chaque e-mail de contact que {name} reçoit des portails doit aussi parvenir à une adresse "
                 "de suivi, où emailtrack le lit. Choisissez ci-dessous la configuration qui correspond à la "
                 "boîte où arrivent les contacts : une seule suffit (un contact reçu deux fois n'est compté "
                 "qu'une fois).",
        "addresses": "Adresses de suivi",
        "address_all": "Pour tous les portails : {address}",
        "address_portal": "Pour {portal} uniquement : {address}",
        "address_none": "Ce point de vente n'a pas encore d'adresse de suivi : créez-en une avec {command}.",
        "mailboxes": "Boîtes où arrivent les contacts : {mailboxes}",
        "mailboxes_none": "Aucune boîte n'est configurée pour ce point de vente ({key} dans emailtrack.toml).",
        "routes": "Expéditeurs à transférer",
        "route": "{portals} → {address} : {senders}",
        "unrouted": "Non transférés (pas d'adresse de suivi pour tous les portails) : {portals}. Créez-en une "
                    "avec {command}.",
        "no_senders": "Reconnus à leur objet seulement, aucune règle ne peut les choisir par expéditeur : "
                      "{portals}.",
        "files": "Fichiers de ce dossier",
        "file_gmail": "{file} : les filtres Gmail à importer",
        "file_outlook": "{file} : les règles de boîte Microsoft 365, pour un administrateur "
                        "(Exchange Online PowerShell)",
        "file_sieve": "{file} : les règles Sieve (hébergeurs Dovecot/Pigeonhole)",
        "gmail": "Gmail et Google Workspace",
        "gmail_1": "Ouvrez les **Paramètres** de Gmail (la roue dentée), **Voir tous les paramètres**, onglet "
                   "**Transfert et POP/IMAP**, **Ajouter une adresse de transfert** et saisissez {addresses} (chacune, "
                   "s'il y en a plusieurs).",
        "gmail_2": "Gmail envoie un message de confirmation, avec un code et un lien, à cette adresse, "
                   "c'est-à-dire au service de suivi : demandez le code à la personne qui gère emailtrack "
                   "(une fois le message lu, **emailtrack status** affiche son code et son lien), saisissez-le et cliquez sur **Valider**. "
                   "Laissez **Désactiver le transfert** coché : les filtres ne transfèrent que les e-mails "
                   "des portails.",
        "gmail_3": "Onglet **Filtres et adresses bloquées**, **Importer des filtres**, choisissez {file}, "
                   "**Ouvrir le fichier**, puis **Créer des filtres**.",
        "gmail_note": "Tant que l'adresse de transfert n'est pas confirmée, les filtres ne transfèrent rien.",
        "m365": "Outlook sur le web et Microsoft 365",
        "m365_1": "Dans Outlook sur le web : **Paramètres**, **Courrier**, **Règles**, **Ajouter une nouvelle "
                  "règle**, une par ligne des expéditeurs à transférer ci-dessus ; nommez-la {rule_name}.",
        "m365_2": "Condition **De** (ou **L'adresse de l'expéditeur inclut**) : les expéditeurs de la ligne.",
        "m365_3": "Action **Rediriger vers** : l'adresse de suivi de la ligne ({addresses}). La redirection garde l'expéditeur d'origine ; "
                  "**Transférer à** le masquerait. Laissez **Arrêter le traitement de règles "
                  "supplémentaires** décoché, puis **Enregistrer**.",
        "m365_4": "Ou un administrateur exécute {file} dans Exchange Online PowerShell (après {connect}) : "
                  "il crée la même règle dans chaque boîte.",
        "m365_admin": "Microsoft 365 bloque par défaut le transfert automatique vers des adresses externes "
                      "(stratégie de filtrage du courrier indésirable sortant, transfert automatique "
                      "« Automatique - Contrôlé par le système »). Un administrateur doit l'autoriser pour "
                      "ces boîtes (Microsoft Defender : **Stratégies et règles**, **Stratégies de menace**, "
                      "**Anti-spam**, stratégie sortante, **Règles de transfert automatique** : **Activé - "
                      "Le transfert est activé**, de préférence dans une stratégie qui ne s'applique qu'à ces "
                      "boîtes). Sinon chaque copie est rejetée avec l'erreur 5.7.520 et rien n'arrive au "
                      "suivi.",
        "outlook": "Outlook pour Windows",
        "outlook_1": "**Fichier**, **Gérer les règles et les alertes**, **Nouvelle règle**, **Appliquer la "
                     "règle aux messages que je reçois** (une règle par ligne des expéditeurs à transférer "
                     "ci-dessus).",
        "outlook_2": "Condition **avec certains mots dans l'adresse de l'expéditeur** : les expéditeurs de la "
                     "ligne.",
        "outlook_3": "Action **le rediriger vers des personnes ou une liste publique** : l'adresse de suivi "
                     "de la ligne ({addresses}) ; "
                     "**Terminer**.",
        "outlook_warning": "Une règle marquée « côté client uniquement » ne s'exécute que lorsque Outlook est "
                           "ouvert sur ce PC : les copies s'arrêtent la nuit, le week-end et pendant les "
                           "congés. Pour une boîte Microsoft 365 ou Exchange, créez plutôt la règle dans "
                           "Outlook sur le web : elle s'exécute sur le serveur.",
        "apple": "Apple Mail",
        "apple_1": "**Mail**, **Réglages**, **Règles**, **Ajouter une règle**, une par ligne des expéditeurs "
                   "à transférer ci-dessus ; description {rule_name}.",
        "apple_2": "**Si l'une des conditions suivantes est remplie** : une ligne **De** **Contient** par "
                   "expéditeur de la ligne.",
        "apple_3": "**Effectuer les actions suivantes** : **Rediriger le message** vers l'adresse de suivi de "
                   "la ligne ({addresses} ; la redirection garde l'expéditeur d'origine), puis **OK**.",
        "apple_note": "Les règles de Mail sur un Mac ne s'exécutent que lorsque Mail y est ouvert. Les règles "
                      "iCloud Mail créées sur icloud.com s'exécutent sur le serveur.",
        "sieve": "Sieve (hébergeurs Dovecot, nombreuses offres d'hébergement)",
        "sieve_1": "Dans les réglages de filtres du webmail (Roundcube : **Paramètres**, **Filtres**), "
                   "importez {file} ou copiez ses règles dans le jeu de filtres actif ; avec ManageSieve, "
                   "envoyez-le et activez-le.",
        "sieve_2": "{redirect} envoie une copie à l'adresse de suivi et garde le message dans la boîte.",
        "sieve_note": "Si un jeu de filtres est déjà actif, ajoutez-y les règles (la ligne {require} en "
                      "premier) plutôt que de le remplacer.",
        "portal": "Copie par le portail",
        "portal_1": "Certains portails permettent à l'agence d'ajouter un second destinataire à leurs e-mails "
                    "de contact : la configuration la plus simple, mais pas partout. Dans l'espace "
                    "professionnel du portail, ajoutez {address} comme second destinataire des e-mails de "
                    "contact.",
        "portal_2": "Le catalogue de portails d'emailtrack n'indique pas quels portails proposent un second "
                    "destinataire : vérifiez sur chacun. Portails connus de cet espace de travail : {portals}.",
        "portal_reserved": "Sur {portal}, utilisez son adresse dédiée {address}.",
        "distribution": "Système de multi-diffusion",
        "distribution_1": "Si le système de multi-diffusion du réseau distribue les contacts, sa copie de suivi "
                          "va à {address}, et emailtrack l'attribue aux points de vente grâce au journal du "
                          "système.",
        "distribution_none": "Si le système de multi-diffusion du réseau distribue les contacts, donnez-lui sa "
                             "propre adresse de suivi dans emailtrack.toml :",
        "distribution_2": "Exportez son journal en CSV avec l'en-tête {header}, une ligne par copie distribuée, "
                          "et ingérez-le :",
        "distribution_3": "Ce point de vente y est reconnu par {addresses}.",
        "footer": "Écrit par {command} pour l'espace de travail {workspace}.",
    },
}

# the heading lines of the rule files (comments, one line each); {name} and {id}: the point of sale's
FILE_HEADINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "outlook": ("emailtrack: inbox rules of {name} ({id}): the portals' lead e-mails redirected to the "
                    "tracked address.",
                    "Run in Exchange Online PowerShell after Connect-ExchangeOnline.",
                    "Automatic forwarding to external addresses must be allowed (outbound spam filter policy), "
                    "otherwise the copies bounce with 5.7.520:",
                    "    Get-HostedOutboundSpamFilterPolicy | Format-List Name, AutoForwardingMode"),
        "sieve": ("emailtrack: the portals' lead e-mails of {name} ({id}) redirected to the tracked address, "
                  "a copy kept here.",),
        "gmail": ("emailtrack: {name}",),
    },
    "fr": {
        "outlook": ("emailtrack : règles de boîte de {name} ({id}) : les e-mails de contact des portails "
                    "redirigés vers l'adresse de suivi.",
                    "À exécuter dans Exchange Online PowerShell après Connect-ExchangeOnline.",
                    "Le transfert automatique vers l'extérieur doit être autorisé (stratégie anti-spam "
                    "sortante), sinon les copies sont rejetées en 5.7.520 :",
                    "    Get-HostedOutboundSpamFilterPolicy | Format-List Name, AutoForwardingMode"),
        "sieve": ("emailtrack : les e-mails de contact des portails de {name} ({id}) redirigés vers l'adresse "
                  "de suivi, une copie gardée ici.",),
        "gmail": ("emailtrack : {name}",),
    },
}
