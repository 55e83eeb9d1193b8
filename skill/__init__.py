"""The bedtime magnesium skill: an Alexa custom skill about magnesium and sleep."""
