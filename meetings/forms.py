from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import Meeting, Membership, User


class SignupForm(UserCreationForm):
    display_name = forms.CharField(
        max_length=100, required=False, help_text="The name other participants see."
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name")


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("display_name",)


class MeetingForm(forms.ModelForm):
    class Meta:
        model = Meeting
        fields = ("title", "language", "glossary")
        widgets = {"glossary": forms.Textarea(attrs={"rows": 3})}

    def clean_language(self) -> str:
        language = self.cleaned_data["language"].strip().lower()
        if language != "auto" and not (2 <= len(language) <= 3 and language.isalpha()):
            raise forms.ValidationError("Use a two-letter language code such as 'en', or 'auto'.")
        return language


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.SPEAKER)

    def clean_username(self) -> User:
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"There is no user called {username!r}.")
        return user


class CorrectSegmentForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), strip=True)


class RenameSpeakerForm(forms.Form):
    old_name = forms.CharField(max_length=100, label="Speaker")
    new_name = forms.CharField(max_length=100, label="New name", strip=True)
