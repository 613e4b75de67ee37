"""genrm-exp: Bradley-Terry, LLM-as-a-judge, GenRM and STaR-trained CoT-GenRM reward models."""
