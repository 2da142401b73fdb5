from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.utils import timezone

from . import languages as meeting_languages
from .models import PERSONAL_SLUG_PREFIX, Meeting, Membership, User, is_personal_slug
from .text import LINE_BREAKS, validate_one_line, validate_text


class SignupForm(UserCreationForm):
    display_name = forms.CharField(
        max_length=100,
        required=False,
        validators=[validate_one_line],
        help_text="The name other participants see.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name")


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("display_name",)


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
        label="Scheduled start (optional)",
        # the browser's date and time picker; Django reads its ISO 8601 value
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = Meeting
        fields = ("title", "language", "glossary", "scheduled_for")
        widgets = {"glossary": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, languages: meeting_languages.Languages, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.languages = languages
        language = self.fields["language"]
        language.widget.choices = meeting_languages.choices(languages)
        language.help_text = (
            "The languages this server's speech engine can caption."
            if languages.codes != {"en"}
            else "This server's speech model transcribes English only; other languages need "
            "a multilingual model or another engine."
        )
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_for"].help_text = (
            f"In {zone} time. It lists the meeting as upcoming; captions start whenever "
            "someone first speaks."
        )

    def clean_scheduled_for(self) -> datetime | None:
        when = self.cleaned_data["scheduled_for"]
        # a minute's grace: "now", picked in the form, is in the past once it is posted
        if when is not None and when < timezone.now() - timedelta(minutes=1):
            raise forms.ValidationError("Choose a time in the future, or leave it empty.")
        return when

    def clean_language(self) -> str:
        language = self.cleaned_data["language"].strip().lower()
        if meeting_languages.can_caption(language, self.languages):
            return language
        if language != "auto" and meeting_languages.name(language) == language:
            raise forms.ValidationError("Choose a language from the list.")  # none we know
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
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.SPEAKER)

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"There is no user called {username!r}.")
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        error_messages={"invalid_choice": "Choose a valid role: host, speaker or listener."},
    )


class CorrectSegmentForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        strip=True,
        validators=[validate_text],
        error_messages={"required": "A segment cannot be left empty."},
    )

    def clean_text(self) -> str:
        # One utterance is one caption: line breaks typed into the box become spaces.
        return LINE_BREAKS.sub(" ", self.cleaned_data["text"]).strip()


class RenameSpeakerForm(forms.Form):
    old_name = forms.CharField(max_length=100, label="Speaker", strip=False)
    new_name = forms.CharField(
        max_length=100, label="New name", strip=True, validators=[validate_one_line]
    )
