<div class="mlsd-cover">
  <p class="mlsd-cover__kicker">The runnable study guide to</p>
  <h1>{{ config.site_name }}</h1>
  <p class="mlsd-cover__subtitle">Machine-learning system design interviews: a 45-minute framework,
  a concepts checklist and worked design problems.</p>
  <p class="mlsd-cover__note">Every number in this book is printed by code that the test suite
  runs, or cited. Source, code and the web edition: {{ config.repo_url }}</p>
  <p class="mlsd-cover__note">{{ config.copyright }}</p>
</div>
