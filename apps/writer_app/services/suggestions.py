"""Writing help. NOTE: only the offline provider exists so far; it returns
labelled, rule-based output and calls no external service."""

OFFLINE_LABEL = "offline provider: rule-based text, no AI service was called"


def suggest(text, section=""):
    sentences = [part.strip() for part in text.replace("\n", " ").split(".") if part.strip()]
    longest = max(sentences, key=len) if sentences else ""
    tips = []
    if longest and len(longest.split()) > 25:
        tips.append(f"Split the longest sentence ({len(longest.split())} words) in two.")
    if " very " in f" {text.lower()} ":
        tips.append("Replace 'very' with a more precise word.")
    if not tips:
        tips.append("The text reads clearly; consider adding a concrete number or example.")
    return {"provider": "offline", "label": OFFLINE_LABEL, "section": section, "suggestions": tips}


def generate(prompt):
    return {"provider": "offline", "label": OFFLINE_LABEL, "text": f"Draft on: {prompt.strip()[:200]}"}
