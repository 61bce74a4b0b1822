"""Telling people how a source's job ended: by email (through HARVEST_SMTP_*) and/or by a webhook (a JSON POST).

A source names its recipients (`notifications`: emails, webhook, and `on`: `error`, a job that failed or ended
with errors, or `always`). When one of its jobs ends (previews aside), each is sent the job's report: its
status, counts, errors and item problems grouped by message. A webhook is held to the same rules as a catalog
(harvesters/origin.py): http(s) only, no redirect off its origin, no connection to an internal address unless
its URL names one (registered from the command line) or HARVEST_ALLOW_PRIVATE_ADDRESSES is set. A notification
that cannot be sent leaves a warning on the job; it never changes how the job ended.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from harvesters.http import Http
from harvesters.models import HarvestSource, Notifications
from harvesters.problems import group_problems
from harvesters.settings import Settings
from harvesters.store import JobRow, Store

log = logging.getLogger(__name__)
EVENT = "harvest.job.ended"
PROBLEMS_SENT = 50  # groups of item problems in a notification


def should_notify(notifications: Notifications | None, row: JobRow) -> bool:
    if notifications is None or row.preview or not row.finished:
        return False
    return notifications.on == "always" or row.status != "done"


def notify_job_end(store: Store, job_id: str, http: Http, config: Settings) -> None:
    """Send the ended job's report to whom its source names, if its outcome calls for it."""
    row = store.job_row(job_id)
    source = store.get_source(row.source_id)
    notifications = source.notifications
    if not should_notify(notifications, row):
        return
    assert notifications is not None
    report = job_report(store, row, source)
    failures = []
    if notifications.emails:
        try:
            send_email(config, notifications.emails, report)
        except (OSError, smtplib.SMTPException, ValueError) as error:
            failures.append(f"email to {', '.join(notifications.emails)}: {error or type(error).__name__}")
    if notifications.webhook:
        try:
            http.for_source(notifications.webhook).post(notifications.webhook, json=report)
        except Exception as error:  # the HTTP client's refusals and failures, all said in its message
            failures.append(f"webhook {notifications.webhook}: {error}")
    for failure in failures:
        log.warning("Notification of job %s failed: %s", job_id, failure)
        store.add_job_error(job_id, f"Notification not sent: {failure}", level="warning")


def job_report(store: Store, row: JobRow, source: HarvestSource) -> dict[str, Any]:
    """What a notification tells (the webhook's JSON body; the email says the same in words)."""
    job = row.to_model()
    problems = group_problems(store.item_problems(row.id))
    return {
        "event": EVENT,
        "job": job.model_dump(mode="json", exclude={"items"}),
        "source": {"id": source.id, "slug": source.slug, "name": source.name, "url": source.url,
                   "backend": source.backend},
        "summary": store.summary(row.id),
        "problems": [group.to_json() for group in problems[:PROBLEMS_SENT]],
        "more_problems": max(len(problems) - PROBLEMS_SENT, 0),
    }


def send_email(config: Settings, recipients: list[str], report: dict[str, Any]) -> None:
    if not config.smtp_host:
        raise ValueError("HARVEST_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = config.smtp_sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject(report)
    message.set_content(email_body(report))
    connect = smtplib.SMTP_SSL if config.smtp_security == "ssl" else smtplib.SMTP
    with connect(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout) as smtp:
        if config.smtp_security == "starttls":
            smtp.starttls()
        if config.smtp_username:
            password = config.smtp_password.get_secret_value() if config.smtp_password else ""
            smtp.login(config.smtp_username, password)
        smtp.send_message(message)


def subject(report: dict[str, Any]) -> str:
    return f"[harvest] {report['source']['name']}: job {report['job']['status']}"


def email_body(report: dict[str, Any]) -> str:
    job, source, summary = report["job"], report["source"], report["summary"]
    lines = [f"Job {job['id']} of source '{source['name']}' ({source['backend']}, {source['url']}) ended "
             f"{job['status']} at {job['ended']}.", "",
             ", ".join(f"{count} {outcome}" for outcome, count in summary.items()), ""]
    lines += [f"Job {error['level']}: {error['message']}" for error in job["errors"]]
    if report["problems"]:
        lines += ["", "Item problems, by message:"]
        lines += [f"  {group['count']} × [{group['status']}] {group['message']}" for group in report["problems"]]
    if report["more_problems"]:
        lines.append(f"  ... and {report['more_problems']} more messages: harvest job errors {job['id']}")
    return "\n".join(lines) + "\n"
