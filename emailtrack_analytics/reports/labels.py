"""Report wording and number/date formatting in French and English."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

LABELS = {
    "fr": {
        "monthly_title": "Rapport mensuel des leads",
        "network": "Réseau",
        "leads": "Leads",
        "network_leads": "Leads (réseau)",
        "point_of_sale_leads": "Leads (par point de vente)",
        "point_of_sale_rows": "Leads (par point de vente, somme)",
        "previous_month": "Mois précédent",
        "change": "Évolution",
        "last_year": "Même mois l'an dernier",
        "active_points_of_sale": "Points de vente actifs",
        "copies": "Copies de suivi (leads)",
        "tracking_copies": "Copies de suivi",
        "mailbox_copies": "Copies des boîtes (exports)",
        "definitions": ("Leads (réseau) : leads distincts, un lead envoyé à trois points de vente compte une fois. "
                        "Leads (par point de vente) : un par lead et par point de vente qu'il a atteint ; leur somme "
                        "dépasse les leads du réseau. Copies de suivi : messages reçus par les adresses de suivi (un "
                        "lead peut arriver en plusieurs copies). Copies des boîtes : messages lus dans l'export de la "
                        "boîte d'un point de vente, preuves pour la couverture, jamais comptés comme volume."),
        "point_of_sale": "Point de vente",
        "group": "Groupe",
        "portal": "Portail",
        "share": "Part",
        "day": "Jour",
        "by_point_of_sale": "Leads par point de vente",
        "by_portal": "Leads (réseau) par portail",
        "by_portal_pos": "Leads (par point de vente) par portail",
        "portal_share": "Part des portails",
        "daily": "Leads (réseau) par jour",
        "daily_pos": "Leads (par point de vente) par jour",
        "heatmap": "Leads (par point de vente) par portail et point de vente",
        "traffic": "Trafic hors leads et non attribué",
        "category": "Catégorie",
        "without_point_of_sale": "Sans point de vente",
        "without_portal": "Sans portail",
        "quarantined": "Messages en quarantaine (total)",
        "no_data": "Aucune donnée pour ce mois.",
        "unknown_portal": "(portail inconnu)",
        "unknown_point_of_sale": "(point de vente inconnu)",
        "generated": "Généré le",
        "health_title": "Santé du suivi",
        "expected": "Leads reçus (par point de vente, attendus)",
        "tracked": "Leads suivis (par point de vente)",
        "coverage": "Couverture",
        "alerts": "Alertes",
        "no_evidence": "Aucun journal ni export de boîte pour ce mois : la couverture ne peut pas être mesurée.",
        "coverage_by_pos": "Couverture par point de vente",
        "coverage_trend": "Couverture du réseau sur 12 mois",
        "missing_leads": "Leads manquants",
        "missing": "Leads reçus mais non suivis",
        "missing_list": "Détail (sans données personnelles)",
        "none_missing": "Aucun lead manquant.",
        "no_alerts": "Aucune alerte.",
        "no_alerts_but_checks": "Aucune alerte statistique ; voir les problèmes de configuration ci-dessus.",
        "checks": "Problèmes de configuration",
        "no_checks": "Aucun problème de configuration.",
        "check_kind": "Problème",
        "check_kinds": {"unclaimed_address": "Adresse de suivi non déclarée",
                        "silent_point_of_sale": "Point de vente silencieux",
                        "mailbox_not_tracked": "Leads de la boîte non suivis",
                        "pending_confirmation": "Confirmation de transfert en attente"},
        "address": "Adresse",
        "count": "Nombre",
        "fix": "Correction",
        "alert_kind": "Alerte",
        "evidence": "Constat",
        "examples": "Exemples de sujets (sans données personnelles)",
        "deployment": "Mise en place du suivi",
        "deployment_note": "Au {day} : un mode d'envoi des copies est actif s'il a apporté au moins une copie de "
                           "lead dans les {days} jours précédents ; « depuis » : le début de sa période d'activité "
                           "en cours.",
        "deployment_none": "Aucune copie n'est encore arrivée au suivi.",
        "deployment_state": "État",
        "deployment_states": {"live": "actif", "stopped": "arrêté", "never": "jamais actif"},
        "live_modes": "Modes actifs (depuis)",
        "stopped_modes": "Modes arrêtés (dernière copie)",
        "last_copy": "Dernière copie",
        "failed_forwards": "Transferts en échec",
        "deployment_alerts": "Alertes",
        "modes": {"x_forwarded": "transfert Gmail", "resent": "redirection (Apple Mail, Outlook)",
                  "server": "règle sur le serveur (Microsoft 365, Sieve, hébergeur)",
                  "inline": "transfert par le logiciel de messagerie",
                  "attachment": "transfert en pièce jointe par le logiciel de messagerie",
                  "cc": "adresse de suivi en copie sur le portail", "distribution": "multidiffusion",
                  "direct": "adresse de suivi comme contact sur le portail"},
        "mode_since": "{mode} (depuis le {since} ; {copies} en {days} j)",
        "mode_last": "{mode} (dernière le {last})",
        "failure": "{address} : {count} {status} ({code}), dernier le {last}",
        "failure_statuses": {"bounced": "rejetés", "rejected": "refusés", "deferred": "différés"},
        "no_code": "sans code",
        "failure_meanings": {
            "5.7.520": "Microsoft 365 bloque le transfert automatique vers l'extérieur : un administrateur doit "
                       "l'autoriser (stratégie de filtrage du courrier sortant)",
            "5.1.1": "l'adresse de suivi n'existe pas sur le serveur qui reçoit : faute de frappe dans la règle, "
                     "ou adresse jamais créée",
            "5.1.10": "l'adresse de suivi n'existe pas sur le serveur qui reçoit : faute de frappe dans la règle, "
                      "ou adresse jamais créée",
            "5.2.2": "la boîte de suivi est pleine",
            "5.7.1": "copie refusée par la politique du serveur qui reçoit (relais, authentification)",
            "5.4.4": "le domaine de suivi est injoignable (pas de MX)",
            "4.4.4": "le domaine de suivi est injoignable pour l'instant (pas de MX) : nouvel essai",
            "5": "copie refusée définitivement", "4": "échec temporaire : le serveur réessaie"},
        "delays_evidence": "{late} des {copies} transferts depuis le {since} sont partis plus de {hours} h après "
                           "le lead : transfert à la main, ou règle qui ne tourne que quand Outlook est ouvert",
        "stopped_evidence": "{mode} : aucune copie de lead depuis {days} jours (dernière le {last})",
        "failures_evidence": "{count} transferts vers {address} en échec ({code}) dans les {days} derniers jours",
        "cause": "Cause probable",
        "received": "Reçu le",
        "alert_kinds": {"low_coverage": "Couverture faible", "silence": "Silence", "drop": "Chute",
                        "template_spike": "Modèle non reconnu", "unknown_portal_sender": "Expéditeur inconnu"},
        "causes": {"forward_bounced": "Transfert rejeté", "forward_deferred": "Transfert en attente",
                   "forwarding_stopped": "Transfert arrêté", "never_forwards": "Boîte jamais transférée",
                   "cc_absent": "Copie (CC) absente", "client_rule_offline": "Règle du client mail (hors heures)",
                   "unknown": "Inconnue"},
        # the tracking health report (reports/health.py)
        "coverage_trend_pos": "Couverture sur 12 mois — {point_of_sale}",
        "coverage_line": "seuil {line}",
        "tracking_flag": "Suivi",
        "sender_domain": "Domaine de l'expéditeur",
        "check_unclaimed": ("{address} : {copies} copies ({leads} leads) depuis le {since}, sur une adresse d'un "
                            "domaine de suivi qu'aucun point de vente ne déclare"),
        "check_unclaimed_pos": (" ; comptées comme copies de la boîte du point de vente {point_of_sale}, jamais "
                                "comme suivies"),
        "check_unclaimed_nearest": (" ; comptées pour aucun point de vente (l'adresse déclarée la plus proche, "
                                    "{address}, est celle de {point_of_sale})"),
        "check_unclaimed_none": " ; comptées pour aucun point de vente",
        "check_silence": ("aucun lead n'a atteint le suivi depuis {days} jours, depuis le {since} ({expected} "
                          "attendus d'après son historique et la tendance du réseau)"),
        "check_never_received": ("aucun lead n'a jamais atteint le suivi ; ses journaux ou son export de boîte "
                                 "montrent {received} leads reçus depuis le {since}"),
        "check_never": "aucun lead n'a jamais atteint le suivi ({days} jours de données jusqu'au {until})",
        "check_mailbox": ("{missing} des {received} leads de son propre export de boîte n'ont jamais atteint "
                          "le suivi ({months})"),
        "month_range": "{first} à {last}",
        "check_confirmation": ("{provider} demande de confirmer que {mailbox} peut transférer vers {address} "
                               "(message de confirmation du {since}{count}) ; rien de ce qu'elle transfère n'arrive avant, "
                               "et rien n'est arrivé de {mailbox} depuis"),
        "check_confirmation_unclaimed": " ; aucun point de vente ne déclare cette adresse",
        "check_confirmation_count": ", {count} en tout",
        "the_mailbox": "la boîte qui l'a demandé",
        "the_provider": "le fournisseur de messagerie",
        "fix_confirm_link": "ouvrir ce lien (il confirme le transfert) :",
        "fix_confirm_code": "saisir le code {code} dans les paramètres de transfert de {mailbox} ({provider})",
        "fix_confirm_or": "ou ",
        "fix_confirm_open": "ouvrir le message de confirmation reçu à l'adresse de suivi et suivre son lien",
        "fix_confirmation": ("son transfert vers {addresses} n'a jamais été confirmé : voir la confirmation en "
                             "attente (son lien ou son code)"),
        "fix_toml": "ajouter à emailtrack.toml :",
        "fix_rule_or_toml": ("si la règle de transfert visait {nearest} (à {distance} {characters}), corriger la "
                             "règle ; sinon, ajouter à emailtrack.toml :"),
        "characters": ("caractère", "caractères"),
        "fix_unclaimed": ("ses copies vont à {addresses}, qu'aucun point de vente ne déclare : voir l'adresse non "
                          "déclarée"),
        "fix_forwarding": ("vérifier que {mailbox} {verb} vers {tracked} (règle de transfert, ou adresse de suivi "
                           "en copie sur les portails)"),
        "forwarding_verbs": {"silence": "transfère toujours", "never": "transfère",
                             "mailbox": "transfère chaque lead"},
        "fix_tracked_address": ("donner à {point_of_sale} une adresse de suivi (tracked_addresses) et mettre en "
                                "place ses copies"),
        "fix_add_point_of_sale": "ajouter ce point de vente à emailtrack.toml",
        "either": " ou ",
        "its_mailbox": "sa boîte",
        "its_tracked_address": "son adresse de suivi",
        "toml_placeholder": "<id du point de vente auquel elle appartient>",
        "no_group": "(sans groupe)",
        "by_group": "Leads (par point de vente) par groupe",
        "top_movers": "Plus fortes variations",
        "rises": "Hausses",
        "falls": "Baisses",
        "difference": "Écart",
        # the monthly report's comparisons (reports/monthly.py)
        "no_data_for": "aucune donnée pour {month}",
        "year_to_date": "Cumul depuis janvier",
        "year_to_date_since": "Cumul depuis {month}",
        "same_period_last_year": "même période l'an dernier : {n} ({change})",
        "trend_12": "Leads (réseau) sur 12 mois",
        "trend_12_pos": "Leads (par point de vente) sur 12 mois",
        "a_year_earlier": "Un an plus tôt",
        "this_year": "12 derniers mois",
        "rank": "Rang",
        "rank_value": "{rank} sur {of}",
        "share_of_network": "Part du réseau",
        "vs_group": "Écart à la moyenne du groupe",
        "group_average": "Moyenne du groupe (par point de vente)",
        "network_average": "Moyenne du réseau (par point de vente)",
        "tracking": "Suivi",
        "peers": "Les points de vente du groupe",
        "peers_network": "Les points de vente du réseau",
        "peers_legend": "Les autres points de vente",
        "flagged_legend": "⚠ suivi incomplet (la baisse peut venir du suivi)",
        "flag_explained": ("⚠ : le suivi de ce point de vente a manqué des leads ce mois-ci (couverture sous 90 %, "
                           "silence, canal silencieux) ; son chiffre et sa baisse viennent au moins en partie du suivi, pas des "
                           "ventes. Voir le rapport de santé du suivi."),
        "group_note": ("Un lead envoyé à des points de vente de deux groupes compte dans chacun : la somme des "
                       "groupes ({rows}) dépasse les leads du réseau ({network})."),
        "distribution_title": "Répartition des leads",
        "portal_share_by_pos": "Part des portails par point de vente",
        "portal_share_by_group": "Part des portails par groupe",
        "concentration": "Concentration : portails qui font 80 % des leads",
        "portals_for_80": "Portails pour 80 %",
        "top_portal": "Premier portail",
        "top_portal_share": "Part du premier portail",
        "weekday_hour": "Leads (réseau) par jour de la semaine et heure",
        "weekday_hour_pos": "Leads (par point de vente) par jour de la semaine et heure",
        "weekday": "Jour",
        "hour": "Heure",
        "channel_mix": "Canaux de suivi",
        "channel": "Canal",
        "trends": "Tendance sur 12 mois",
        "month": "Mois",
        # the distribution report's charts and tables (reports/distribution.py)
        "dist_top_portal": "Premier portail, part des leads (réseau)",
        "dist_top_portal_pos": "Premier portail, part des leads (par point de vente)",
        "dist_portals_for_80": "Portails pour 80 % des leads (réseau)",
        "dist_portals_for_80_pos": "Portails pour 80 % des leads (par point de vente)",
        "dist_tracking": "Suivi",
        "dist_flagged": ("⚠ Suivi incomplet ce mois-ci pour {names} : leurs leads non suivis manquent dans "
                         "chaque figure de la page, et leur répartition reflète le suivi autant que la demande "
                         "(voir le rapport de santé du suivi)."),
        "dist_flagged_pos": ("⚠ Suivi incomplet ce mois-ci ({flag}) : des leads reçus n'ont pas été suivis, et la "
                             "répartition ci-dessous reflète le suivi autant que la demande (voir le rapport de "
                             "santé du suivi)."),
        "dist_share_by_pos": "Part des portails par point de vente, leads (par point de vente)",
        "dist_share_by_group": "Part des portails par groupe, leads (par point de vente)",
        "dist_share_axis": "Part des leads (par point de vente)",
        "dist_concentration": ("Points de vente selon le nombre de portails qui font 80 % de leurs leads "
                               "(par point de vente)"),
        "dist_pos_count": "Nombre de points de vente",
        "dist_weekday_hour_year_pos": "Leads (par point de vente) par jour de la semaine et heure, sur 12 mois",
        "dist_channel_mix": "Canaux de suivi, leads (par point de vente)",
        "dist_channel_by_pos": "Canaux de suivi par point de vente, leads (par point de vente)",
        "dist_trend": "Leads (réseau) sur 12 mois",
        "dist_trend_pos": "Leads (par point de vente) sur 12 mois, face au groupe et au réseau",
        "dist_group_trend": "Leads (par point de vente) par groupe sur 12 mois",
        "dist_portal_trend": "Leads (réseau) par portail sur 12 mois",
        "dist_portal_trend_pos": "Leads (par point de vente) par portail sur 12 mois",
        "dist_group_average": "Moyenne par point de vente actif, groupe {group}",
        "dist_network_average": "Moyenne par point de vente actif, réseau",
        "dist_average_note": ("Moyennes : leads (par point de vente) du groupe ou du réseau divisés par le nombre "
                              "de ses points de vente ayant au moins un lead ce mois-là."),
        "dist_peers": "Mix des portails face au groupe et au réseau",
        "dist_peers_chart": "Part des portails, leads (par point de vente) : le point de vente, son groupe, le réseau",
        "dist_group_row": "Groupe {group}",
        "dist_share_of": "Part, {scope}",
        "dist_gap": "Écart au réseau (points)",
        "dist_peers_note": ("Les trois lignes comptent les leads (par point de vente) : un lead envoyé à deux points "
                            "de vente compte pour chacun, dans le groupe comme dans le réseau."),
        "weekdays": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
        "channels": {"forward": "Transfert", "redirect": "Redirection", "cc": "Copie (CC)",
                     "distribution": "Multidiffusion", "direct": "Direct", "unknown": "Inconnu"},
        "categories": {"lead": "Lead", "follow_up": "Relance", "notification": "Notification",
                       "newsletter": "Newsletter", "auto_reply": "Réponse automatique",
                       "spam": "Spam", "other": "Autre"},
    },
    "en": {
        "monthly_title": "Monthly lead report",
        "network": "Network",
        "leads": "Leads",
        "network_leads": "Leads (network)",
        "point_of_sale_leads": "Leads (per point of sale)",
        "point_of_sale_rows": "Leads (per point of sale, summed)",
        "previous_month": "Previous month",
        "change": "Change",
        "last_year": "Same month last year",
        "active_points_of_sale": "Active points of sale",
        "copies": "Tracking copies (leads)",
        "tracking_copies": "Tracking copies",
        "mailbox_copies": "Mailbox copies (exports)",
        "definitions": ("Leads (network): distinct leads; a lead sent to three points of sale counts once. "
                        "Leads (per point of sale): one per lead per point of sale it reached; they add up to more "
                        "than the network's. Tracking copies: messages the tracked addresses received (a lead may "
                        "come as several copies). Mailbox copies: messages read from a point of sale's own mailbox "
                        "export, evidence for coverage, never counted as volume."),
        "point_of_sale": "Point of sale",
        "group": "Group",
        "portal": "Portal",
        "share": "Share",
        "day": "Day",
        "by_point_of_sale": "Leads by point of sale",
        "by_portal": "Leads (network) by portal",
        "by_portal_pos": "Leads (per point of sale) by portal",
        "portal_share": "Portal share",
        "daily": "Leads (network) per day",
        "daily_pos": "Leads (per point of sale) per day",
        "heatmap": "Leads (per point of sale) by portal and point of sale",
        "traffic": "Non-lead and unattributed traffic",
        "category": "Category",
        "without_point_of_sale": "Without point of sale",
        "without_portal": "Without portal",
        "quarantined": "Quarantined messages (all time)",
        "no_data": "No data for this month.",
        "unknown_portal": "(unknown portal)",
        "unknown_point_of_sale": "(unknown point of sale)",
        "generated": "Generated on",
        "health_title": "Tracking health",
        "expected": "Leads received (per point of sale, expected)",
        "tracked": "Leads tracked (per point of sale)",
        "coverage": "Coverage",
        "alerts": "Alerts",
        "no_evidence": "No mail log or mailbox export for this month: coverage cannot be measured.",
        "coverage_by_pos": "Coverage by point of sale",
        "coverage_trend": "Network coverage over 12 months",
        "missing_leads": "Missing leads",
        "missing": "Leads received but not tracked",
        "missing_list": "Detail (no personal data)",
        "none_missing": "No missing lead.",
        "no_alerts": "No alert.",
        "no_alerts_but_checks": "No statistical alert; see the configuration problems above.",
        "checks": "Configuration problems",
        "no_checks": "No configuration problem.",
        "check_kind": "Problem",
        "check_kinds": {"unclaimed_address": "Unclaimed tracking address",
                        "silent_point_of_sale": "Silent point of sale",
                        "mailbox_not_tracked": "Mailbox leads not tracked",
                        "pending_confirmation": "Pending forwarding confirmation"},
        "address": "Address",
        "count": "Count",
        "fix": "Fix",
        "alert_kind": "Alert",
        "evidence": "Evidence",
        "examples": "Example subjects (personal details removed)",
        "deployment": "Tracking set-up",
        "deployment_note": "As of {day}: a way of sending copies is live when it brought at least one lead copy in "
                           "the {days} days before; \"since\": the start of its current live period.",
        "deployment_none": "No copy has reached tracking yet.",
        "deployment_state": "State",
        "deployment_states": {"live": "live", "stopped": "stopped", "never": "never live"},
        "live_modes": "Live modes (since)",
        "stopped_modes": "Stopped modes (last copy)",
        "last_copy": "Last copy",
        "failed_forwards": "Failed forwards",
        "deployment_alerts": "Alerts",
        "modes": {"x_forwarded": "Gmail forwarding", "resent": "Redirect (Apple Mail, Outlook)",
                  "server": "server rule (Microsoft 365, Sieve, host)", "inline": "forward by the mail client",
                  "attachment": "forward as an attachment by the mail client",
                  "cc": "tracked address in copy on the portal", "distribution": "multi-distribution",
                  "direct": "tracked address as the portal's contact"},
        "mode_since": "{mode} (since {since}; {copies} in {days} d)",
        "mode_last": "{mode} (last on {last})",
        "failure": "{address}: {count} {status} ({code}), last on {last}",
        "failure_statuses": {"bounced": "bounced", "rejected": "rejected", "deferred": "deferred"},
        "no_code": "no code",
        "delays_evidence": "{late} of the {copies} forwards since {since} left more than {hours} h after the lead: "
                           "forwarded by hand, or by a rule that runs only while Outlook is open",
        "stopped_evidence": "{mode}: no lead copy for {days} days (last on {last})",
        "failures_evidence": "{count} forwards to {address} failed ({code}) in the last {days} days",
        "cause": "Likely cause",
        "received": "Received",
        "alert_kinds": {"low_coverage": "Low coverage", "silence": "Silence", "drop": "Drop",
                        "template_spike": "Unrecognised template", "unknown_portal_sender": "Unknown sender"},
        "causes": {"forward_bounced": "Forward bounced", "forward_deferred": "Forward deferred",
                   "forwarding_stopped": "Forwarding stopped", "never_forwards": "Mailbox never forwards",
                   "cc_absent": "CC set-up absent", "client_rule_offline": "Client-side rule (off hours)",
                   "unknown": "Unknown"},
        # the tracking health report (reports/health.py)
        "coverage_trend_pos": "Coverage over 12 months — {point_of_sale}",
        "coverage_line": "line {line}",
        "tracking_flag": "Tracking",
        "sender_domain": "Sender domain",
        "check_unclaimed": ("{address}: {copies} copies ({leads} leads) since {since} at an address on a tracking "
                            "domain that no point of sale claims"),
        "check_unclaimed_pos": "; counted as {point_of_sale}'s own mailbox copies, never as tracked",
        "check_unclaimed_nearest": "; counted for no point of sale (the nearest claimed address, {address}, is "
                                   "{point_of_sale}'s)",
        "check_unclaimed_none": "; counted for no point of sale",
        "check_silence": ("no lead reached tracking for {days} days since {since} ({expected} expected from its "
                          "own history and the network's trend)"),
        "check_never_received": ("no lead ever reached tracking; its mail logs or mailbox export show {received} "
                                 "leads received since {since}"),
        "check_never": "no lead ever reached tracking ({days} days of data up to {until})",
        "check_mailbox": ("{missing} of the {received} leads in its own mailbox export never reached tracking "
                          "({months})"),
        "month_range": "{first} to {last}",
        "check_confirmation": ("{provider} asks to confirm that {mailbox} may forward to {address} (confirmation "
                               "mail of {since}{count}); nothing it forwards arrives until then, and nothing forwarded "
                               "from {mailbox} arrived since"),
        "check_confirmation_unclaimed": "; no point of sale claims this address",
        "check_confirmation_count": ", {count} in all",
        "the_mailbox": "the mailbox that asked",
        "the_provider": "the mail provider",
        "fix_confirm_link": "open this link (it confirms the forward):",
        "fix_confirm_code": "type the code {code} in the forwarding settings of {mailbox} ({provider})",
        "fix_confirm_or": "or ",
        "fix_confirm_open": "open the confirmation mail at the tracked address and follow its link",
        "fix_confirmation": ("its forward to {addresses} was never confirmed: see the pending confirmation (its "
                             "link or code)"),
        "fix_toml": "add to emailtrack.toml:",
        "fix_rule_or_toml": ("if the forwarding rule means {nearest} ({distance} {characters} away), correct the "
                             "rule; otherwise add to emailtrack.toml:"),
        "characters": ("character", "characters"),
        "fix_unclaimed": "its copies go to {addresses}, which no point of sale claims: see the unclaimed address",
        "fix_forwarding": ("check that {mailbox} {verb} to {tracked} (forwarding rule, or the tracked address in "
                           "copy on the portals)"),
        "forwarding_verbs": {"silence": "still forwards", "never": "forwards", "mailbox": "forwards every lead"},
        "fix_tracked_address": ("give {point_of_sale} a tracked address (tracked_addresses) and set up its "
                                "copies"),
        "fix_add_point_of_sale": "add this point of sale to emailtrack.toml",
        "either": " or ",
        "its_mailbox": "its mailbox",
        "its_tracked_address": "its tracked address",
        "toml_placeholder": "<id of the point of sale it belongs to>",
        "no_group": "(no group)",
        "by_group": "Leads (per point of sale) by group",
        "top_movers": "Top movers",
        "rises": "Rises",
        "falls": "Falls",
        "difference": "Difference",
        # the monthly report's comparisons (reports/monthly.py)
        "no_data_for": "no data for {month}",
        "year_to_date": "Year to date",
        "year_to_date_since": "Since {month}",
        "same_period_last_year": "same period last year: {n} ({change})",
        "trend_12": "Leads (network) over 12 months",
        "trend_12_pos": "Leads (per point of sale) over 12 months",
        "a_year_earlier": "A year earlier",
        "this_year": "Last 12 months",
        "rank": "Rank",
        "rank_value": "{rank} of {of}",
        "share_of_network": "Share of the network",
        "vs_group": "Against the group average",
        "group_average": "Group average (per point of sale)",
        "network_average": "Network average (per point of sale)",
        "tracking": "Tracking",
        "peers": "The group's points of sale",
        "peers_network": "The network's points of sale",
        "peers_legend": "The other points of sale",
        "flagged_legend": "⚠ tracking incomplete (the fall may come from tracking)",
        "flag_explained": ("⚠: this point of sale's tracking missed leads this month (coverage under 90%, a "
                           "silence, a silent channel); its figure and its fall come at least partly from tracking, not from sales. "
                           "See the tracking health report."),
        "group_note": ("A lead sent to points of sale of two groups counts in each: the groups add up to "
                       "{rows}, more than the network's leads ({network})."),
        "distribution_title": "Lead distribution",
        "portal_share_by_pos": "Portal share by point of sale",
        "portal_share_by_group": "Portal share by group",
        "concentration": "Concentration: portals that make 80% of leads",
        "portals_for_80": "Portals for 80%",
        "top_portal": "Top portal",
        "top_portal_share": "Top portal share",
        "weekday_hour": "Leads (network) by weekday and hour",
        "weekday_hour_pos": "Leads (per point of sale) by weekday and hour",
        "weekday": "Weekday",
        "hour": "Hour",
        "channel_mix": "Tracking channels",
        "channel": "Channel",
        "trends": "12-month trend",
        "month": "Month",
        # the distribution report's charts and tables (reports/distribution.py)
        "dist_top_portal": "Top portal, share of leads (network)",
        "dist_top_portal_pos": "Top portal, share of leads (per point of sale)",
        "dist_portals_for_80": "Portals for 80% of leads (network)",
        "dist_portals_for_80_pos": "Portals for 80% of leads (per point of sale)",
        "dist_tracking": "Tracking",
        "dist_flagged": ("⚠ Tracking incomplete this month for {names}: their untracked leads are missing from "
                         "every figure on this page, and their mix reflects tracking as much as demand (see the "
                         "tracking health report)."),
        "dist_flagged_pos": ("⚠ Tracking incomplete this month ({flag}): some leads received were not tracked, "
                             "and the mix below reflects tracking as much as demand (see the tracking health "
                             "report)."),
        "dist_share_by_pos": "Portal share by point of sale, leads (per point of sale)",
        "dist_share_by_group": "Portal share by group, leads (per point of sale)",
        "dist_share_axis": "Share of leads (per point of sale)",
        "dist_concentration": ("Points of sale by the number of portals that make 80% of their leads "
                               "(per point of sale)"),
        "dist_pos_count": "Number of points of sale",
        "dist_weekday_hour_year_pos": "Leads (per point of sale) by weekday and hour, over 12 months",
        "dist_channel_mix": "Tracking channels, leads (per point of sale)",
        "dist_channel_by_pos": "Tracking channels by point of sale, leads (per point of sale)",
        "dist_trend": "Leads (network) over 12 months",
        "dist_trend_pos": "Leads (per point of sale) over 12 months, against the group and the network",
        "dist_group_trend": "Leads (per point of sale) by group over 12 months",
        "dist_portal_trend": "Leads (network) by portal over 12 months",
        "dist_portal_trend_pos": "Leads (per point of sale) by portal over 12 months",
        "dist_group_average": "Average per active point of sale, group {group}",
        "dist_network_average": "Average per active point of sale, network",
        "dist_average_note": ("Averages: the group's or the network's leads (per point of sale) divided by the "
                              "number of its points of sale with at least one lead that month."),
        "dist_peers": "Portal mix against the group and the network",
        "dist_peers_chart": "Portal share, leads (per point of sale): the point of sale, its group, the network",
        "dist_group_row": "Group {group}",
        "dist_share_of": "Share, {scope}",
        "dist_gap": "Gap to the network (points)",
        "dist_peers_note": ("All three rows count leads (per point of sale): a lead sent to two points of sale "
                            "counts for each, in the group as in the network."),
        "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "channels": {"forward": "Forward", "redirect": "Redirect", "cc": "CC",
                     "distribution": "Multi-distribution", "direct": "Direct", "unknown": "Unknown"},
        "categories": {"lead": "Lead", "follow_up": "Follow-up", "notification": "Notification",
                       "newsletter": "Newsletter", "auto_reply": "Auto-reply", "spam": "Spam",
                       "other": "Other"},
    },
}

_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
}


def labels(language: str) -> dict[str, Any]:  # texts, and lists and tables of texts
    return LABELS.get(language, LABELS["fr"])


def month_name(month: str, language: str) -> str:
    """``2026-03`` -> ``mars 2026`` / ``March 2026``."""
    names = _MONTHS.get(language, _MONTHS["fr"])
    return f"{names[int(month[5:7]) - 1]} {month[:4]}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_SHORT = {
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def short_month(month: str, language: str) -> str:
    """``2026-03`` -> ``mars 2026`` / ``Mar 2026`` (axis labels)."""
    names = _SHORT.get(language, _SHORT["fr"])
    return f"{names[int(month[5:7]) - 1]} {month[:4]}"


DAY_FORMAT = {"fr": "%d/%m", "en": "%b %d"}


def not_available(language: str) -> str:
    """What a figure that cannot be given reads as (no data for that month, nothing to compare
    with): never 0, never a dash a reader might take for zero."""
    return "n/a" if language == "en" else "n/d"


def colon(language: str) -> str:
    """``label : value`` in French (a narrow no-break space before the colon), ``label: value`` in English."""
    return "\u202f: " if language == "fr" else ": "


def number(value: float | None, language: str) -> str:
    if value is None or _missing(value):
        return not_available(language)
    text = f"{int(round(value)):,}"
    return text.replace(",", "\u202f") if language == "fr" else text


def percent(value: float | None, language: str, signed: bool = False) -> str:
    if value is None or _missing(value):
        return not_available(language)
    text = f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"
    return (text.replace(".", ",") + "\u00a0%") if language == "fr" else text + "%"


def date(value: dt.date, language: str) -> str:
    return value.strftime("%d/%m/%Y") if language == "fr" else value.isoformat()


# The email's own wording (reports/email_content.py); the figures' names are LABELS' above.
EMAIL = {
    "fr": {
        "subject_monthly": "Leads {of_month} — {scope} : {leads}{change}",
        "subject_health": "Santé du suivi {of_month} — {scope} : couverture {coverage}, {alerts}",
        "subject_distribution": "Répartition des leads {of_month} — {scope} : 1er portail {portal} ({share})",
        "subject_distribution_empty": "Répartition des leads {of_month} — {scope} : aucun lead",
        "subject_other": "Rapport {kind} {of_month} — {scope}",
        "alerts_count": ("aucune alerte", "1 alerte", "{n} alertes"),
        "figures": "Chiffres du mois",
        "previous_month": "mois précédent : {n} ({change})",
        "not_available": "n/d",
        "no_data_for": "aucune donnée pour {month}",
        "non_lead_copies": "Copies de suivi hors leads (relances, notifications…)",
        "without_point_of_sale": "Copies de suivi sans point de vente",
        "group_note": ("Un lead qui atteint plusieurs points de vente compte pour chacun : la somme par point de "
                       "vente ({rows}) dépasse les leads du réseau ({network})."),
        "movers": "Plus fortes variations (leads par point de vente, contre le mois précédent)",
        "no_movers": "Aucune variation.",
        "flag": "⚠ suivi incomplet : {missing} sur {expected} leads reçus non suivis (couverture {coverage})",
        "flag_cause": "cause probable : {cause}",
        "flag_silent": "⚠ aucun lead suivi depuis le {since}",
        "flag_short": "couverture {coverage}",
        "flag_silent_short": "silencieux depuis le {since}",
        "flag_silent_portal": "⚠ aucun lead de {portal} depuis le {since} (canal silencieux)",
        "flag_silent_portal_short": "{portal} silencieux depuis le {since}",
        "flag_note": ("⚠ : le suivi de ce point de vente a manqué des leads ce mois-ci ; sa baisse vient au moins "
                      "en partie du suivi, pas des ventes (voir le rapport de santé du suivi)."),
        "to_check": "Suivi à vérifier",
        "portals": "Leads par portail",
        "attached": "Le rapport complet est joint ({name}) : ouvrez-le dans un navigateur.",
        "attached_zip": ("Le rapport complet est joint, compressé ({name}) : ouvrez le fichier .zip, puis la "
                         "page qu'il contient dans un navigateur."),
        "not_attached": ("Le rapport complet ({size}) est trop lourd pour cet email : il est sur le serveur "
                         "d'emailtrack, {path}."),
        "coverage_lowest": "Couverture la plus basse",
        "missing_by_cause": "Leads manquants par cause probable",
        "alert_silence": "aucun lead depuis le {since} ({expected} attendus)",
        "alert_drop": "{observed} leads pour {expected} attendus",
        "alert_template_spike": "{observed} messages d'un modèle de portail non reconnu",
        "alert_unknown_portal_sender": "{observed} messages d'un expéditeur qui n'est pas un portail connu",
        "alert_low_coverage": "{observed} leads suivis sur {expected} reçus (journaux, export de boîte)",
        "checks_count": "Problèmes de configuration",
        "top_portals": "Premiers portails",
        "channel_mix": "Canaux de suivi (leads par point de vente)",
    },
    "en": {
        "subject_monthly": "Leads {of_month} — {scope}: {leads}{change}",
        "subject_health": "Tracking health {of_month} — {scope}: coverage {coverage}, {alerts}",
        "subject_distribution": "Lead distribution {of_month} — {scope}: top portal {portal} ({share})",
        "subject_distribution_empty": "Lead distribution {of_month} — {scope}: no lead",
        "subject_other": "Report {kind} {of_month} — {scope}",
        "alerts_count": ("no alert", "1 alert", "{n} alerts"),
        "figures": "The month's figures",
        "previous_month": "previous month: {n} ({change})",
        "not_available": "n/a",
        "no_data_for": "no data for {month}",
        "non_lead_copies": "Tracking copies that are not leads (follow-ups, notifications…)",
        "without_point_of_sale": "Tracking copies without a point of sale",
        "group_note": ("A lead that reaches several points of sale counts for each: the sum per point of sale "
                       "({rows}) exceeds the network's leads ({network})."),
        "movers": "Top movers (leads per point of sale, against the previous month)",
        "no_movers": "No change.",
        "flag": "⚠ tracking incomplete: {missing} of {expected} leads received were not tracked (coverage {coverage})",
        "flag_cause": "likely cause: {cause}",
        "flag_silent": "⚠ no lead tracked since {since}",
        "flag_short": "coverage {coverage}",
        "flag_silent_short": "silent since {since}",
        "flag_silent_portal": "⚠ no lead from {portal} since {since} (silent channel)",
        "flag_silent_portal_short": "{portal} silent since {since}",
        "flag_note": ("⚠: this point of sale's tracking missed leads this month; its fall comes at least partly "
                      "from tracking, not from sales (see the tracking health report)."),
        "to_check": "Tracking to check",
        "portals": "Leads by portal",
        "attached": "The full report is attached ({name}): open it in a browser.",
        "attached_zip": ("The full report is attached, compressed ({name}): open the .zip file, then the page "
                         "it holds in a browser."),
        "not_attached": "The full report ({size}) is too large for this email: it is on the emailtrack server, {path}.",
        "coverage_lowest": "Lowest coverage",
        "missing_by_cause": "Missing leads by likely cause",
        "alert_silence": "no lead since {since} ({expected} expected)",
        "alert_drop": "{observed} leads where {expected} were expected",
        "alert_template_spike": "{observed} messages in an unrecognised portal template",
        "alert_unknown_portal_sender": "{observed} messages from a sender that is no known portal",
        "alert_low_coverage": "{observed} of {expected} leads received (mail logs, mailbox export) were tracked",
        "checks_count": "Configuration problems",
        "top_portals": "Top portals",
        "channel_mix": "Tracking channels (leads per point of sale)",
    },
}


def email_labels(language: str) -> dict[str, Any]:
    return EMAIL.get(language, EMAIL["fr"])


def of_month(month: str, language: str) -> str:
    """``2026-10`` -> ``d'octobre 2026`` / ``de novembre 2026`` / ``for October 2026``."""
    name = month_name(month, language)
    if language == "en":
        return f"for {name}"
    return f"d'{name}" if name[0] in "aeiouéâ" else f"de {name}"


def signed_percent(value: float | None, language: str) -> str:
    """A change as people write it: ``−5,2 %`` / ``+3.1%`` (a true minus sign)."""
    return percent(value, language, signed=True).replace("-", "\u2212")


def by_count(counts: dict[str, Any]) -> list[tuple[str, Any]]:
    """A recorded table of counts, largest first, ties by name (summary.json keeps keys sorted by name)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
