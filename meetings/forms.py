from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import languages as meeting_languages
from .models import PERSONAL_SLUG_PREFIX, Meeting, Membership, User, is_personal_slug
from .text import LINE_BREAKS, validate_one_line, validate_text, without_controls


class SignupForm(UserCreationForm):
    display_name = forms.CharField(
        max_length=100,
        required=False,
        validators=[validate_one_line],
        label=_("Display name"),
        help_text=_("The name other participants see."),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name")


#: bounds of a person's watch words: enough for names, nicknames and a few topics
WATCH_WORDS_MAX = 20
WATCH_WORD_MAX_LENGTH = 50


class ProfileForm(forms.ModelForm):
    """The display name and mentions: the words to watch for, and the browser's notification."""

    watch_words = forms.CharField(
        label=_("Words to watch for"),
        required=False,
        strip=False,
        # the bounds below, line breaks included; refused before the lines are even split
        max_length=WATCH_WORDS_MAX * (WATCH_WORD_MAX_LENGTH + 2),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One word or phrase a line. A caption that says one is highlighted in the room. "
            "Until you change it, your display name is watched."
        ),
    )
    mention_notifications = forms.BooleanField(
        label=_("Notify me in the browser when I am mentioned"),
        required=False,
        help_text=_("While the room's tab is in the background. Your browser asks you first."),
    )

    field_order = ("display_name", "watch_words", "mention_notifications")

    class Meta:
        model = User
        fields = ("display_name", "mention_notifications")
        labels = {"display_name": _("Display name")}
        help_texts = {"display_name": _("The name other participants see.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # before validation, which gives the instance the new display name
        self.shown_words = self.instance.mention_words
        self.fields["watch_words"].initial = "\n".join(self.shown_words)

    def clean_watch_words(self) -> list[str] | None:
        """The list to keep; None (unset) while it is the default, so it follows a rename."""
        if self.add_prefix("watch_words") not in self.data:
            return self.instance.watch_words  # not part of this post: unchanged
        words: list[str] = []
        seen: set[str] = set()
        for line in LINE_BREAKS.split(self.cleaned_data["watch_words"]):
            word = " ".join(line.split())  # tabs and runs of spaces: one space
            if not word:
                continue
            _validate_watch_word(word)
            if word.casefold() not in seen:  # the room matches them regardless of case
                seen.add(word.casefold())
                words.append(word)
        if len(words) > WATCH_WORDS_MAX:
            raise forms.ValidationError(
                gettext("Watch at most %(most)d words or phrases (you listed %(listed)d).")
                % {"most": WATCH_WORDS_MAX, "listed": len(words)}
            )
        if self.instance.watch_words is None and words == self.shown_words:
            return None
        return words


def _validate_watch_word(word: str) -> None:
    try:
        validate_one_line(word)
    except forms.ValidationError as error:
        raise forms.ValidationError(
            f"“{without_controls(word)[:WATCH_WORD_MAX_LENGTH]}”: {error.messages[0]}"
        ) from None
    if len(word) > WATCH_WORD_MAX_LENGTH:
        raise forms.ValidationError(
            gettext(
                "“%(start)s…” is too long: a watch word or phrase has at most %(most)d characters."
            )
            % {"start": word[:20], "most": WATCH_WORD_MAX_LENGTH}
        )
    # Captions are matched whole word by whole word: punctuation alone never matches.
    if not any(char.isalnum() for char in word):
        raise forms.ValidationError(
            gettext("“%(word)s”: use at least one letter or digit.") % {"word": word}
        )


class AdminUserChangeForm(UserChangeForm):
    """The admin's user form: the first and last name are shown to others as well."""

    class Meta(UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name"):
            if name in self.fields:
                self.fields[name].validators.append(validate_one_line)


class MeetingForm(forms.ModelForm):
    """A new meeting; ``languages`` are the ones this server's live engine can caption."""

    # Checked here, not by model choices: what can be captioned depends on the server's engine
    # and model, and meetings made under another one keep their language.
    language = forms.CharField(initial="en", widget=forms.Select)
    scheduled_for = forms.DateTimeField(
        required=False,
        label=_("Scheduled start (optional)"),
        # the browser's date and time picker; Django reads its ISO 8601 value
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = Meeting
        fields = ("title", "language", "glossary", "scheduled_for")
        widgets = {"glossary": forms.Textarea(attrs={"rows": 3})}
        labels = {"title": _("Title"), "language": _("Language"), "glossary": _("Glossary")}
        help_texts = {"glossary": _("Names and jargon the speech engine should expect.")}

    def __init__(self, *args, languages: meeting_languages.Languages, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.languages = languages
        language = self.fields["language"]
        language.widget.choices = meeting_languages.choices(languages)
        language.label = _("Language")
        language.help_text = (
            _("The languages this server's speech engine can caption.")
            if languages.codes != {"en"}
            else _(
                "This server's speech model transcribes English only; other languages need "
                "a multilingual model or another engine."
            )
        )
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_for"].help_text = gettext(
            "In %(zone)s time. It lists the meeting as upcoming; captions start whenever "
            "someone first speaks."
        ) % {"zone": zone}

    def clean_scheduled_for(self) -> datetime | None:
        when = self.cleaned_data["scheduled_for"]
        # a minute's grace: "now", picked in the form, is in the past once it is posted
        if when is not None and when < timezone.now() - timedelta(minutes=1):
            raise forms.ValidationError(_("Choose a time in the future, or leave it empty."))
        return when

    def clean_language(self) -> str:
        language = self.cleaned_data["language"].strip().lower()
        if meeting_languages.can_caption(language, self.languages):
            return language
        if language != "auto" and meeting_languages.name(language) == language:
            raise forms.ValidationError(_("Choose a language from the list."))  # none we know
        raise forms.ValidationError(meeting_languages.refusal(language, self.languages))


class MeetingAdminForm(forms.ModelForm):
    """The admin's meeting form, where slugs are typed in by hand."""

    class Meta:
        model = Meeting
        # the admin passes the fields it shows; these are the ones it can edit
        fields = (
            "title",
            "slug",
            "owner",
            "language",
            "glossary",
            "scheduled_for",
            "started_at",
            "ended_at",
        )

    def clean_slug(self) -> str:
        # The database refuses it too, but `kind` is read-only in the admin, so the model's own
        # constraint check skips it: say it here, as a form error rather than a 500.
        slug = self.cleaned_data["slug"]
        if self.instance.kind != Meeting.Kind.PERSONAL and is_personal_slug(slug):
            raise forms.ValidationError(
                f"Slugs starting with “{PERSONAL_SLUG_PREFIX}” are reserved for personal "
                "transcripts; choose another."
            )
        return slug


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Username"))
    role = forms.ChoiceField(
        choices=Membership.Role.choices, initial=Membership.Role.SPEAKER, label=_("Role")
    )

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(
                gettext("There is no user called %(name)s.") % {"name": repr(username)}
            )
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        error_messages={"invalid_choice": _("Choose a valid role: host, speaker or listener.")},
    )


class CorrectSegmentForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        strip=True,
        validators=[validate_text],
        error_messages={"required": _("A segment cannot be left empty.")},
    )

    def clean_text(self) -> str:
        # One utterance is one caption: line breaks typed into the box become spaces.
        return LINE_BREAKS.sub(" ", self.cleaned_data["text"]).strip()


class RenameSpeakerForm(forms.Form):
    old_name = forms.CharField(max_length=100, label=_("Speaker"), strip=False)
    new_name = forms.CharField(
        max_length=100, label=_("New name"), strip=True, validators=[validate_one_line]
    )
